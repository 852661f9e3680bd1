// An admin signs up in the console, a visitor starts a chat in the widget, and the agent answers
// from the inbox: the queue live with its alert, join, messages both ways with typing and read
// receipts, then a block the visitor is told of.

import { expect, test } from "@playwright/test";
import {
  chatbotOf,
  identify,
  noSeriousViolations,
  openShop,
  PARLEY_URL,
  screenshot,
  shopOrigin,
  sign,
  widget,
} from "../../tests/support";

/** Stubs the browser's notifications as granted and counts what the console shows. */
const COUNT_NOTIFICATIONS = () => {
  const shown: string[] = [];
  (window as unknown as { shown: string[] }).shown = shown;
  class Stub {
    static permission = "granted";
    static requestPermission = async () => "granted";
    constructor(title: string) {
      shown.push(title);
    }
  }
  (window as unknown as { Notification: unknown }).Notification = Stub;
};

test("sign up, take a visitor from the queue, chat, and block them", async ({ page, browser }) => {
  await page.addInitScript(COUNT_NOTIFICATIONS);
  const unique = Math.random().toString(36).slice(2, 10);
  const email = `owner-${unique}@shop.test`;
  const password = `a long passphrase ${unique}`;

  await page.goto(`${PARLEY_URL}/console`);
  await expect(page).toHaveURL(/\/console\/login$/);
  await expect(page.getByLabel("Email")).toBeVisible();
  await expect(page.getByLabel("Password")).toBeVisible();
  await screenshot(page, "console-1-login");
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Company or team name").fill(`Shop ${unique}`);
  await page.getByLabel("Your name").fill("Olive");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Nobody is waiting.")).toBeVisible();

  // The chatbot, made through the API here (admin.spec.ts makes one in the Chatbots page).
  const bot = await chatbotOf(email, password, "Olive");

  // The visitor, in a browser of their own.
  const visitor = await (await browser.newContext()).newPage();
  const visitorEmail = `grace-${unique}@visitor.test`;
  await openShop(visitor, bot, {
    script: identify("Grace", visitorEmail, sign(bot.identitySecret, visitorEmail)),
  });
  await expect(widget(visitor).getByRole("log").locator("li").first()).toBeVisible();

  // The queue shows her at once, with a notification.
  const join = page.getByRole("button", { name: "Join Grace" });
  await expect(join).toBeVisible();
  await expect(page.getByText("verified")).toBeVisible();
  await expect
    .poll(() => page.evaluate(() => (window as unknown as { shown: string[] }).shown))
    .toContain("New conversation waiting");
  await screenshot(page, "console-2-queue");
  await noSeriousViolations(page, "the inbox");

  await join.click();
  await expect(page).toHaveURL(/\/console\/chatrooms\//);
  await expect(page.getByRole("heading", { name: "Grace" })).toBeVisible();
  await expect(widget(visitor).getByRole("heading")).toHaveText("Olive");
  // The visitor panel says where she is and what she uses.
  const panel = page.getByRole("complementary", { name: "Visitor" });
  await expect(panel).toContainText("127.0.0.1");
  await expect(panel).toContainText("Chrome");
  await expect(panel).toContainText(await shopOrigin());

  // Visitor → agent, with typing.
  const box = widget(visitor).getByLabel("Message");
  await box.pressSequentially("Hi");
  await expect(page.getByText("Grace is typing…")).toBeVisible();
  await box.fill("Where is my order?");
  await box.press("Enter");
  const log = page.getByRole("log", { name: "Messages" });
  await expect(log).toContainText("Where is my order?");
  // The agent saw it: the visitor's tick turns to read.
  await expect(widget(visitor).locator("li.mine")).toHaveAttribute("data-state", "read");

  // Agent → visitor, with typing; the visitor's read receipt reaches the agent.
  const composer = page.getByLabel("Message", { exact: true });
  await composer.pressSequentially("Let me look");
  await expect(widget(visitor).getByText("Olive is typing…")).toBeVisible();
  await composer.fill("It ships tomorrow.");
  await composer.press("Enter");
  await expect(widget(visitor).getByRole("log")).toContainText("It ships tomorrow.");
  await expect(log.locator("li.agent").last()).toContainText("Read");
  await screenshot(page, "console-3-conversation");
  await noSeriousViolations(page, "the conversation");

  // The agent's network drops while the visitor writes: back online, everything is there, once.
  await page.context().setOffline(true);
  await expect(page.getByText("Reconnecting… nothing will be missed.")).toBeVisible();
  for (const text of ["one", "two", "three"]) {
    await box.fill(`while you were away ${text}`);
    await box.press("Enter");
  }
  await expect(widget(visitor).locator("li.mine[data-state=sent]")).toHaveCount(3);
  await page.context().setOffline(false);
  for (const text of ["one", "two", "three"]) {
    await expect(log.getByText(`while you were away ${text}`, { exact: true })).toHaveCount(1);
  }
  const seqs = await log
    .locator("li[data-seq]")
    .evaluateAll((items) => items.map((li) => Number(li.getAttribute("data-seq"))));
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));

  // A reload keeps the agent signed in (the refresh cookie) and the conversation whole.
  await page.reload();
  await expect(log).toContainText("Where is my order?");
  await expect(log).toContainText("It ships tomorrow.");

  // Block, confirmed; the visitor is told.
  await page.getByRole("button", { name: "Block" }).click();
  await page.getByRole("button", { name: "Block visitor" }).click();
  await expect(widget(visitor).getByText("You can't send messages in this conversation.")).toBeVisible();
  await expect(page.getByText(/This conversation has ended/)).toBeVisible();

  // Signing out ends the session: a reload shows the sign-in page.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});
