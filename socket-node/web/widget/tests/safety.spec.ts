// What keeps the widget safe and honest: text stays text, and a page the chatbot does not allow
// (or a revoked key) gets no launcher and a reason in the console, not a blank box.

import { expect, test } from "@playwright/test";
import { Agent, consoleOf, newChatbot, openShop, otherOrigin, revokeKey, widget } from "../../tests/support";

test("HTML from the agent shows as text and runs nothing", async ({ page }) => {
  const bot = await newChatbot();
  const agent = await Agent.connect(bot);
  let dialogs = 0;
  page.on("dialog", (dialog) => {
    dialogs++;
    void dialog.dismiss();
  });
  await openShop(page, bot);
  await widget(page).getByRole("button", { name: "Chat with us" }).click();
  await widget(page).getByLabel("Name").fill("<b>Mallory</b>");
  await widget(page).getByLabel("Email", { exact: true }).fill("mallory@visitor.test");
  await widget(page).getByRole("button", { name: "Start chat" }).click();
  const { chatroomId } = (await agent.waiting("mallory@visitor.test")) as { chatroomId: string };
  await agent.join(chatroomId);

  const attack = "<img src=x onerror=alert(1)>";
  await agent.send(chatroomId, attack);
  await agent.send(chatroomId, "javascript:alert(2) and https://shop.example/ok");
  const log = widget(page).getByRole("log");
  await expect(log.locator("li.agent .bubble").first()).toHaveText(attack);
  await expect(log.locator("img")).toHaveCount(0);
  await expect(log.getByRole("link")).toHaveCount(1);
  await expect(log.getByRole("link")).toHaveAttribute("href", "https://shop.example/ok");
  expect(dialogs).toBe(0);
  agent.close();
});

test("a page on an origin the chatbot does not allow gets no launcher and a reason", async ({ page }) => {
  const bot = await newChatbot();
  const lines = consoleOf(page);
  await openShop(page, bot, { origin: await otherOrigin() });
  await expect.poll(() => lines.join("\n")).toContain("origin_not_allowed");
  expect(lines.join("\n")).toContain("Parley: the chat widget is hidden");
  await expect(widget(page)).toHaveCount(0);
  await expect(page.getByRole("button")).toHaveCount(0);
});

test("a revoked key gets no launcher and a reason", async ({ page }) => {
  const bot = await newChatbot();
  await revokeKey(bot);
  const lines = consoleOf(page);
  await openShop(page, bot);
  await expect.poll(() => lines.join("\n")).toContain("api_key_revoked");
  await expect(widget(page)).toHaveCount(0);
});

test("the host page's CSS does not reach the widget", async ({ page }) => {
  const bot = await newChatbot();
  await openShop(page, bot);
  const launcher = widget(page).getByRole("button", { name: "Chat with us" });
  await expect(launcher).toBeVisible();
  // The shop sets every font to 30px and strips buttons bare; the launcher keeps its own look.
  expect(await launcher.evaluate((el) => getComputedStyle(el).fontSize)).toBe("15px");
  expect(await launcher.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe("rgb(15, 118, 110)");
});
