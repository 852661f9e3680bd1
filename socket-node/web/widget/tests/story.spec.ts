// The visitor's story, in Chromium, with an agent on the WebSocket: the launcher, the form, the
// greeting, the agent joining, messages both ways with their ticks, typing and read receipts,
// the unread badge while closed, and ending with a transcript by email.

import { expect, test } from "@playwright/test";
import {
  Agent,
  newChatbot,
  noSeriousViolations,
  openShop,
  PARLEY_URL,
  screenshot,
  widget,
} from "../../tests/support";

test("a visitor chats with an agent from the form to the transcript", async ({ page }) => {
  const bot = await newChatbot({
    settings: { greeting: "Hello from the shop! Someone will be right with you." },
  });
  const agent = await Agent.connect(bot);
  await openShop(page, bot);

  const launcher = widget(page).getByRole("button", { name: "Chat with us" });
  await expect(launcher).toBeVisible();
  await screenshot(page, "1-launcher-closed");

  await launcher.click();
  const name = widget(page).getByLabel("Name");
  await expect(name).toBeFocused();
  await name.fill("Grace");
  await widget(page).getByLabel("Email", { exact: true }).fill("grace@");
  await widget(page).getByRole("button", { name: "Start chat" }).click();
  await expect(widget(page).getByText("Please enter a valid email address.")).toBeVisible();
  await screenshot(page, "2-form");
  await widget(page).getByLabel("Email", { exact: true }).fill("grace@visitor.test");
  await widget(page).getByRole("button", { name: "Start chat" }).click();

  const log = widget(page).getByRole("log");
  await expect(log).toContainText("Hello from the shop! Someone will be right with you.");
  await expect(widget(page).getByRole("heading")).toHaveText("Shop support");

  const room = await agent.waiting("grace@visitor.test");
  const chatroomId = room.chatroomId as string;
  expect(room.name).toBe("Grace");
  await agent.join(chatroomId);
  await expect(widget(page).getByRole("heading")).toHaveText("Ada");

  // The visitor writes: "sending", then "sent" once stored, then "read" on the agent's receipt.
  const message = widget(page).getByLabel("Message");
  await message.fill("Do you ship to Lisbon?");
  await message.press("Enter");
  const mine = log.locator("li.mine", { hasText: "Do you ship to Lisbon?" });
  await expect(mine).toHaveAttribute("data-state", /sent|read/);
  const received = await agent.next((f) => f.type === "message" && f.message === "Do you ship to Lisbon?");
  agent.raw({ type: "read", chatroomId, upToSeq: received.seq });
  await expect(mine).toHaveAttribute("data-state", "read");
  await expect(mine).toContainText("Read");

  // Typing, both ways.
  agent.raw({ type: "typing", chatroomId, typing: true });
  await expect(widget(page).getByText("Ada is typing…")).toBeVisible();
  await message.pressSequentially("Also");
  await agent.next((f) => f.type === "typing" && f.typing === true);
  await message.fill("");

  // The agent answers; the visitor, looking at the panel, reads it and says so.
  const answerSeq = await agent.send(
    chatroomId,
    "We do! Delivery takes 3 days. See https://shop.example/shipping.",
  );
  await expect(log.locator("li.agent").last()).toContainText("We do! Delivery takes 3 days.");
  await expect(widget(page).getByText("Ada is typing…")).toBeHidden();
  await agent.next((f) => f.type === "read" && f.reader === "visitor" && (f.upToSeq as number) >= answerSeq);
  const link = log.getByRole("link", { name: "https://shop.example/shipping" });
  await expect(link).toHaveAttribute("rel", /noopener/);
  await screenshot(page, "3-conversation");
  await noSeriousViolations(page, "the widget", "[data-parley-widget]");

  // Closed panel: an unread badge, the page's title flashing, and the page's listener told.
  await page.evaluate(() => {
    const w = window as unknown as { unread: number[]; Parley: (...args: unknown[]) => void };
    w.unread = [];
    w.Parley("on", "unread", (detail: { count: number }) => w.unread.push(detail.count));
  });
  await widget(page).getByRole("button", { name: "Close chat" }).click();
  await expect(launcher).toBeFocused();
  await agent.send(chatroomId, "Anything else?");
  await expect(widget(page).getByRole("button", { name: "Chat with us, 1 unread" })).toBeVisible();
  await expect(page).toHaveTitle("(1) New message");
  expect(await page.evaluate(() => (window as unknown as { unread: number[] }).unread)).toContain(1);
  await screenshot(page, "4-unread-badge");
  await widget(page).getByRole("button", { name: "Chat with us, 1 unread" }).click();
  await expect(widget(page).getByRole("button", { name: "Chat with us" })).toBeVisible();
  await expect(page).toHaveTitle("Shop");

  // The visitor ends it and asks for the transcript.
  await widget(page).getByRole("button", { name: "End chat" }).click();
  await widget(page).getByLabel("Email me a transcript").check();
  await widget(page).getByRole("alertdialog").getByRole("button", { name: "End chat" }).click();
  await expect(widget(page).getByText("This conversation has ended.")).toBeVisible();
  await expect(widget(page).getByRole("button", { name: "Start a new conversation" })).toBeVisible();
  await agent.next((f) => f.type === "chatroom" && f.chatroomId === chatroomId && f.status === "closed");
  await screenshot(page, "5-ended");

  await expect
    .poll(
      async () => {
        const mails = (await (await fetch(`${PARLEY_URL}/dev/mail/messages`)).json()) as {
          to: string[];
          text: string;
        }[];
        return mails.some(
          (m) =>
            JSON.stringify(m.to).includes("grace@visitor.test") && m.text.includes("Do you ship to Lisbon?"),
        );
      },
      { message: "the transcript reaches the visitor's mailbox", timeout: 30_000 },
    )
    .toBe(true);
  agent.close();
});
