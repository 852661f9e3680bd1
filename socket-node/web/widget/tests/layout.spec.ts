// The widget as a person on a phone, with a keyboard, or in French meets it.

import { expect, test } from "@playwright/test";
import { newChatbot, openShop, screenshot, widget } from "../../tests/support";

test.describe("on a phone", () => {
  test.use({ viewport: { width: 375, height: 720 }, hasTouch: true, isMobile: true });

  test("the open panel fills the screen", async ({ page }) => {
    const bot = await newChatbot({ settings: { position: "bottom-left", launcherText: "Questions?" } });
    await openShop(page, bot);
    const launcher = widget(page).getByRole("button", { name: "Questions?" });
    const box = await launcher.boundingBox();
    expect(box && box.x < 100).toBe(true);
    await screenshot(page, "6-mobile-launcher");
    await launcher.click();
    const panel = widget(page).getByRole("dialog");
    await expect(panel).toBeVisible();
    expect(await panel.boundingBox()).toEqual({ x: 0, y: 0, width: 375, height: 720 });
    await expect(launcher).toBeHidden();
    await screenshot(page, "7-mobile-form");
    await widget(page).getByRole("button", { name: "Close chat" }).click();
    await expect(launcher).toBeVisible();
  });
});

test("the keyboard stays in the open panel and Escape gives focus back to the launcher", async ({ page }) => {
  const bot = await newChatbot();
  await openShop(page, bot);
  const launcher = widget(page).getByRole("button", { name: "Chat with us" });
  await launcher.focus();
  await page.keyboard.press("Enter");
  await expect(widget(page).getByLabel("Name")).toBeFocused();
  // Name, Email, Start chat, Close chat: Tab goes round them and never leaves the panel.
  const panel = widget(page).getByRole("dialog");
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press(i % 3 === 2 ? "Shift+Tab" : "Tab");
    expect(await panel.evaluate((el) => el.contains((el.getRootNode() as ShadowRoot).activeElement))).toBe(
      true,
    );
  }
  await page.keyboard.press("Escape");
  await expect(widget(page).getByRole("dialog")).toBeHidden();
  await expect(launcher).toBeFocused();
});

test.describe("in French", () => {
  test.use({ locale: "fr-FR" });

  test("the widget speaks the browser's language", async ({ page }) => {
    const bot = await newChatbot({ settings: { launcherText: "Une question ?" } });
    await openShop(page, bot);
    await widget(page).getByRole("button", { name: "Une question ?" }).click();
    await expect(widget(page).getByLabel("Nom")).toBeVisible();
    await expect(widget(page).getByRole("button", { name: "Commencer" })).toBeVisible();
  });
});
