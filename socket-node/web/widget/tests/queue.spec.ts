// Visitors waiting for an agent see their place in the queue (the socket-node's `queue_position`
// frames): three visitors of one chatbot are numbers 1, 2 and 3; as the agent takes
// conversations the others move up, live; the place goes once an agent has joined. With no
// conversation taken yet there is no typical wait; after one, there is. A reload shows the place
// again, a French browser reads it in French, and a conversation handed back to the queue has a
// place again.

import { type Browser, expect, type Page, test } from "@playwright/test";
import {
  Agent,
  type Chatbot,
  newChatbot,
  noSeriousViolations,
  openShop,
  screenshot,
  startChat,
  widget,
} from "../../tests/support";

/** A visitor in a browser of their own (each keeps its conversation in its own storage). */
async function visitor(
  browser: Browser,
  bot: Chatbot,
  name: string,
  options: { locale?: string; phone?: boolean } = {},
): Promise<Page> {
  const context = await browser.newContext({
    locale: options.locale ?? "en-GB",
    ...(options.phone ? { viewport: { width: 375, height: 720 }, isMobile: true, hasTouch: true } : {}),
  });
  const page = await context.newPage();
  await openShop(page, bot);
  await widget(page).getByRole("button", { name: "Chat with us" }).click();
  const email = `${name.toLowerCase()}@visitor.test`;
  if (options.locale === "fr-FR") {
    await widget(page).getByLabel("Nom").fill(name);
    await widget(page).getByLabel("E-mail", { exact: true }).fill(email);
    await widget(page).getByRole("button", { name: "Commencer" }).click();
    await expect(widget(page).getByRole("log").locator("li")).not.toHaveCount(0);
  } else {
    await startChat(page, name, email);
  }
  return page;
}

/** The strip that tells the visitor where they stand, as a person reads it. */
const place = (page: Page) => widget(page).locator(".queue");

test("waiting visitors see their place in the queue move up as the agent takes conversations", async ({
  browser,
}) => {
  const bot = await newChatbot();
  const agent = await Agent.connect(bot);

  const grace = await visitor(browser, bot, "Grace");
  await expect(place(grace)).toContainText("You are number 1 in line");
  // Nobody has been taken yet: no history, so no typical wait.
  await expect(place(grace)).not.toContainText("Typical wait");
  const linus = await visitor(browser, bot, "Linus", { phone: true });
  await expect(place(linus)).toContainText("You are number 2 in line");
  const margaret = await visitor(browser, bot, "Margaret");
  await expect(place(margaret)).toContainText("You are number 3 in line");
  await expect(place(grace)).toContainText("You are number 1 in line");
  await expect(place(linus)).toContainText("You are number 2 in line");
  await screenshot(grace, "queue-1-first-in-line");
  await screenshot(linus, "queue-2-second-in-line-phone");
  await noSeriousViolations(grace, "the widget while waiting", "[data-parley-widget]");

  // The agent takes the first conversation: Grace has an agent and no place; the others move up,
  // and the wait now has a history (a join within seconds: under a minute).
  const first = await agent.waiting("grace@visitor.test");
  await agent.join(first.chatroomId as string);
  await expect(widget(grace).getByRole("heading")).toHaveText("Ada");
  await expect(place(grace)).toBeEmpty();
  await expect(place(linus)).toContainText("You are number 1 in line");
  await expect(place(margaret)).toContainText("You are number 2 in line");
  await expect(place(linus)).toContainText("Typical wait: under a minute");
  await expect(place(margaret)).toContainText("Typical wait: under a minute");
  await screenshot(margaret, "queue-3-moved-up-with-typical-wait");

  // A reload: the conversation goes on, and the place is told again after `ready`.
  await margaret.reload();
  await widget(margaret).getByRole("button", { name: "Chat with us" }).click();
  await expect(place(margaret)).toContainText("You are number 2 in line");

  // The agent takes Margaret's, the last in line: Linus stays first.
  const last = await agent.waiting("margaret@visitor.test");
  await agent.join(last.chatroomId as string);
  await expect(widget(margaret).getByRole("heading")).toHaveText("Ada");
  await expect(place(margaret)).toBeEmpty();
  await expect(place(linus)).toContainText("You are number 1 in line");

  // A French visitor joins the queue behind Linus.
  const amelie = await visitor(browser, bot, "Amelie", { locale: "fr-FR" });
  await expect(place(amelie)).toContainText("Vous êtes numéro 2 dans la file d'attente");
  await expect(place(amelie)).toContainText("Attente habituelle : moins d'une minute");
  await screenshot(amelie, "queue-4-french");

  // The agent hands Margaret's conversation back to the queue: she is told, waits again with a
  // place, and the three waiting have places 1, 2 and 3 between them.
  agent.raw({ type: "transfer", chatroomId: last.chatroomId });
  await expect(widget(margaret).getByRole("log")).toContainText(
    "Ada transferred the chat; the next available agent will join shortly",
  );
  await expect(widget(margaret).getByRole("heading")).toHaveText("Shop support");
  await expect(place(margaret)).toContainText(/You are number \d in line/);
  await expect(place(linus)).toContainText("You are number 1 in line");
  const places = () =>
    Promise.all(
      [linus, margaret, amelie].map(async (page) => /\d/.exec((await place(page).textContent()) ?? "")?.[0]),
    );
  await expect.poll(async () => (await places()).sort()).toEqual(["1", "2", "3"]);
  await screenshot(margaret, "queue-5-back-in-the-queue");

  for (const page of [grace, linus, margaret, amelie]) await page.context().close();
  agent.close();
});
