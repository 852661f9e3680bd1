// Nothing is lost when the network goes: the agent writes 20 messages and the visitor 3 while
// the visitor is offline; back online, all 23 are there exactly once, in seq order, on both
// sides. Then a reload goes on with the conversation, and a closed one offers a new one.

import { expect, type Page, test } from "@playwright/test";
import { Agent, newChatbot, openShop, startChat, widget } from "../../tests/support";

/** The seqs of the messages the visitor sees, top to bottom. */
const shownSeqs = (page: Page) =>
  widget(page)
    .getByRole("log")
    .locator("li[data-seq]")
    .evaluateAll((items) => items.map((li) => Number((li as HTMLElement).dataset.seq)));

test("messages both ways while the visitor is offline all arrive once, in order", async ({
  page,
  context,
}) => {
  const bot = await newChatbot();
  const agent = await Agent.connect(bot);
  await openShop(page, bot);
  await widget(page).getByRole("button", { name: "Chat with us" }).click();
  await startChat(page, "Lin", "lin@visitor.test");
  const { chatroomId } = (await agent.waiting("lin@visitor.test")) as { chatroomId: string };
  await agent.join(chatroomId);
  await expect(widget(page).getByRole("heading")).toHaveText("Ada");

  await context.setOffline(true);
  await expect(widget(page).getByRole("status")).toContainText("Reconnecting");
  await agent.next((f) => f.type === "chatroom" && f.chatroomId === chatroomId && f.status === "standby");
  for (let i = 1; i <= 20; i++) await agent.send(chatroomId, `agent message ${i}`);
  const box = widget(page).getByLabel("Message");
  for (const text of ["visitor one", "visitor two", "visitor three"]) {
    await box.fill(text);
    await box.press("Enter");
  }
  await expect(widget(page).locator("li[data-state=sending]")).toHaveCount(3);

  await context.setOffline(false);
  await expect(widget(page).locator("li[data-state=sending]")).toHaveCount(0);
  await expect(widget(page).getByRole("status")).toBeHidden();
  const log = widget(page).getByRole("log");
  for (let i = 1; i <= 20; i++)
    await expect(log.getByText(`agent message ${i}`, { exact: true })).toHaveCount(1);
  for (const text of ["visitor one", "visitor two", "visitor three"]) {
    await expect(log.getByText(text, { exact: true })).toHaveCount(1);
    await agent.next((f) => f.type === "message" && f.message === text);
  }

  const seen = await shownSeqs(page);
  expect(seen).toEqual([...seen].sort((a, b) => a - b));
  expect(new Set(seen).size).toBe(seen.length);
  const last = Math.max(...seen);
  expect(seen).toEqual(Array.from({ length: last }, (_, i) => i + 1));
  const agentSeqs = agent.seqs(chatroomId);
  expect(new Set(agentSeqs).size).toBe(agentSeqs.length);
  expect([...agentSeqs].sort((a, b) => a - b)).toEqual(seen);
  agent.close();
});

test("a reload goes on with the conversation; a closed one offers a new one", async ({ page }) => {
  const bot = await newChatbot();
  const agent = await Agent.connect(bot);
  await openShop(page, bot);
  await widget(page).getByRole("button", { name: "Chat with us" }).click();
  await startChat(page, "Lin", "noor@visitor.test");
  const { chatroomId } = (await agent.waiting("noor@visitor.test")) as { chatroomId: string };
  await agent.join(chatroomId);
  const box = widget(page).getByLabel("Message");
  await box.fill("before the reload");
  await box.press("Enter");
  await expect(widget(page).locator("li.mine[data-state]")).toHaveAttribute("data-state", "sent");

  await page.reload();
  // The launcher comes back and, opened, shows the same conversation: no form.
  await widget(page).getByRole("button", { name: "Chat with us" }).click();
  const log = widget(page).getByRole("log");
  await expect(log.getByText("before the reload", { exact: true })).toHaveCount(1);
  await expect(widget(page).getByLabel("Name")).toBeHidden();
  await agent.send(chatroomId, "after the reload");
  await expect(log.getByText("after the reload", { exact: true })).toHaveCount(1);
  await box.fill("still here");
  await box.press("Enter");
  await agent.next((f) => f.type === "message" && f.message === "still here" && f.chatroomId === chatroomId);

  agent.raw({ type: "close", chatroomId });
  await expect(widget(page).getByText("This conversation has ended.")).toBeVisible();
  await widget(page).getByRole("button", { name: "Start a new conversation" }).click();
  // The form comes back with what the visitor typed last time.
  await expect(widget(page).getByLabel("Name")).toHaveValue("Lin");
  await widget(page).getByRole("button", { name: "Start chat" }).click();
  const next = await agent.next(
    (f) =>
      f.type === "queue" &&
      (f.chatrooms as { email: string; chatroomId: string }[]).some(
        (c) => c.email === "noor@visitor.test" && c.chatroomId !== chatroomId,
      ),
  );
  expect(next).toBeTruthy();
  await expect(log.getByText("before the reload")).toHaveCount(0);
  agent.close();
});
