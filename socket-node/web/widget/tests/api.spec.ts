// The page's side: the `Parley(...)` calls and events, and what a blocked visitor is told.

import { expect, test } from "@playwright/test";
import { Agent, newChatbot, openShop, startChat, widget } from "../../tests/support";

test("the page opens, toggles and shuts the widget down, and hears of each message once", async ({
  page,
}) => {
  const bot = await newChatbot();
  const agent = await Agent.connect(bot);
  await openShop(page, bot, {
    script: `window.heard = []; Parley('on', 'message', (m) => window.heard.push(m.sender.kind + ':' + m.text)); Parley('toggle');`,
  });
  await expect(widget(page).getByRole("dialog")).toBeVisible();
  await startChat(page, "Sam", "sam@visitor.test");
  const { chatroomId } = (await agent.waiting("sam@visitor.test")) as { chatroomId: string };
  await agent.join(chatroomId);
  await agent.send(chatroomId, "Hi Sam");
  await expect(widget(page).getByRole("log")).toContainText("Hi Sam");
  const heard = () => page.evaluate(() => (window as unknown as { heard: string[] }).heard);
  expect((await heard()).filter((m) => m === "agent:Hi Sam")).toHaveLength(1);

  await page.evaluate(() => (window as unknown as { Parley: (c: string) => void }).Parley("close"));
  await expect(widget(page).getByRole("dialog")).toBeHidden();
  await page.evaluate(() => (window as unknown as { Parley: (c: string) => void }).Parley("shutdown"));
  await expect(widget(page)).toHaveCount(0);
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("parley:")));
  expect(stored).toEqual([]);
  agent.close();
});

test("a blocked visitor is told so, and cannot start again", async ({ page }) => {
  const bot = await newChatbot();
  const agent = await Agent.connect(bot);
  await openShop(page, bot, { script: "Parley('open')" });
  await startChat(page, "Sam", "spam@visitor.test");
  const { chatroomId } = (await agent.waiting("spam@visitor.test")) as { chatroomId: string };
  await agent.join(chatroomId);
  agent.raw({ type: "mark", chatroomId, as: "blocked" });
  await expect(widget(page).getByText("You can't send messages in this conversation.")).toBeVisible();
  await expect(widget(page).getByLabel("Message")).toBeHidden();
  await widget(page).getByRole("button", { name: "Start a new conversation" }).click();
  await widget(page).getByRole("button", { name: "Start chat" }).click();
  await expect(widget(page).getByRole("status")).toHaveText(
    "This site isn't taking conversations from you right now.",
  );
  agent.close();
});
