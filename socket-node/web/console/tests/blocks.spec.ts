// An agent blocks a visitor from the inbox; the team's moderator (here its owner) finds them on the
// "Blocked visitors" page (whom, from where, through which chatbot, by whom), lifts the block after
// confirming, and the same visitor, same email and same address, chats again.

import { expect, test } from "@playwright/test";
import {
  chatbotOf,
  noSeriousViolations,
  openShop,
  screenshot,
  signUp,
  startChat,
  widget,
} from "../../tests/support";

test("a moderator sees a blocked visitor, lifts the block, and the visitor can chat again", async ({
  page,
  browser,
}) => {
  const owner = await signUp(page);
  const bot = await chatbotOf(owner.email, owner.password, "Olive");
  const visitor = await (await browser.newContext()).newPage();
  const email = `mallory-${Math.random().toString(36).slice(2, 10)}@visitor.test`;
  await openShop(visitor, bot, { script: "Parley('open')" });
  await startChat(visitor, "Mallory", email);

  // Blocked from the inbox, confirmed; the widget says so and a new conversation is refused.
  await page.getByRole("button", { name: "Join Mallory" }).click();
  await expect(page.getByRole("heading", { name: "Mallory" })).toBeVisible();
  await page.getByRole("button", { name: "Block" }).click();
  await page.getByRole("button", { name: "Block visitor" }).click();
  await expect(widget(visitor).getByText("You can't send messages in this conversation.")).toBeVisible();
  await widget(visitor).getByRole("button", { name: "Start a new conversation" }).click();
  await widget(visitor).getByRole("button", { name: "Start chat" }).click();
  await expect(widget(visitor).getByRole("status")).toHaveText(
    "This site isn't taking conversations from you right now.",
  );

  // The moderator's page lists the block.
  await page
    .getByRole("navigation", { name: "Console" })
    .getByRole("link", { name: "Blocked visitors" })
    .click();
  await expect(page.getByRole("heading", { name: "Blocked visitors", level: 1 })).toBeVisible();
  const rows = page.getByRole("region", { name: "Blocked, newest first" }).locator("tbody tr");
  await expect(rows).toHaveCount(1);
  const row = rows.first();
  await expect(row).toContainText(email);
  await expect(row).toContainText("127.0.0.1");
  await expect(row).toContainText("Shop support");
  await expect(row).toContainText("Olive");
  await noSeriousViolations(page, "the blocked visitors");
  await screenshot(page, "console-blocked-visitors");

  // The row leads to the conversation the visitor was blocked from, and back.
  await row.getByRole("link", { name: "The conversation" }).click();
  await expect(page.getByRole("heading", { name: "Mallory" })).toBeVisible();
  await expect(page.getByText(/This conversation has ended/)).toBeVisible();
  await page.goBack();

  // Lifted after the question; the list empties and says why.
  await row.getByRole("button", { name: `Lift the block on ${email}` }).click();
  await expect(page.getByRole("alertdialog")).toContainText(`Lift the block on ${email}?`);
  await screenshot(page, "console-block-lift-question");
  await page.getByRole("button", { name: "Lift block" }).click();
  await expect(page.getByRole("status").filter({ hasText: "can start" })).toHaveText(
    `${email} can start conversations again.`,
  );
  await expect(page.getByText("Nobody is blocked.")).toBeVisible();
  await screenshot(page, "console-block-lifted");

  // The same visitor starts again and the agent answers.
  await widget(visitor).getByRole("button", { name: "Start chat" }).click();
  await expect(widget(visitor).getByLabel("Message")).toBeVisible();
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Inbox" }).click();
  await page.getByRole("button", { name: "Join Mallory" }).click();
  const box = widget(visitor).getByLabel("Message");
  await box.fill("Sorry about before.");
  await box.press("Enter");
  await expect(page.getByRole("log", { name: "Messages" })).toContainText("Sorry about before.");
  await visitor.context().close();
});
