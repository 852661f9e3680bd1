// The console on a tablet held upright (768 × 1024): the inbox, a conversation and the admin pages
// fit the width with nothing to scroll sideways, and the composer stays on screen.

import { expect, type Page, test } from "@playwright/test";
import { api, noSeriousViolations, screenshot, signIn } from "../../tests/support";

test.use({ viewport: { width: 768, height: 1024 }, hasTouch: true });

/** Whether the page is wider than the window (something a person would have to scroll sideways to). */
const overflowsSideways = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

test("on a tablet the inbox, a conversation and the admin pages fit the screen", async ({ page }) => {
  const unique = Math.random().toString(36).slice(2, 10);
  const owner = { email: `tab-${unique}@team.test`, password: `a long passphrase ${unique}` };
  const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
    "POST",
    "/api/tenant/tenants",
    {
      tenantName: `Tablet ${unique}`,
      adminName: "Tess",
      adminEmail: owner.email,
      adminPassword: owner.password,
    },
  );
  const chatbot = await api<{ apiKey: string }>(
    "POST",
    "/api/chatbots/chatbots",
    { name: "Support", allowedOrigins: ["*"] },
    { token: signup.tokens.accessToken },
  );
  await api("POST", "/v1/visitor/sessions", {
    tenantId: signup.tenant.id,
    apiKey: chatbot.apiKey,
    name: "Noor Al-Rashid, who has a rather long name",
    email: `noor-${unique}@visitor.test`,
  });

  await signIn(page, owner.email, owner.password);
  await page.getByRole("button", { name: /^Join Noor/ }).click();
  const composer = page.getByRole("textbox", { name: "Message" });
  await composer.fill("Hello Noor, how can I help?");
  await composer.press("Enter");
  await expect(page.getByRole("log", { name: "Messages" })).toContainText("✓ Sent");
  await expect(composer).toBeInViewport();
  await expect(page.getByRole("button", { name: "Send" })).toBeInViewport();
  await expect(page.getByRole("heading", { name: /^Mine/ })).toBeInViewport();
  await screenshot(page, "console-tablet-inbox");
  expect(await overflowsSideways(page), "the inbox fits the width").toBe(false);
  await noSeriousViolations(page, "the inbox on a tablet");

  for (const [link, name] of [
    ["Agents", "console-tablet-agents"],
    ["Roles", "console-tablet-roles"],
    ["Chatbots", "console-tablet-chatbots"],
    ["Blocked visitors", "console-tablet-blocks"],
    ["Settings", "console-tablet-settings"],
  ] as const) {
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: link }).click();
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await screenshot(page, name);
    expect(await overflowsSideways(page), `${link} fits the width`).toBe(false);
  }
});
