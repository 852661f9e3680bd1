// Routing as agents live it in the console: the availability switch (Online / Away), which the
// team page shows live and a reload keeps; a chatbot in automatic mode offering a visitor's chat
// to the online agent, who accepts it and chats, then transfers it to a teammate (both consoles
// and the visitor's widget say so); an offer declined passing to the next agent.

import { expect, type Page, test } from "@playwright/test";
import {
  api,
  type Chatbot,
  identify,
  inviteAgent,
  noSeriousViolations,
  openShop,
  screenshot,
  shopOrigin,
  sign,
  signIn,
  widget,
} from "../../tests/support";

test.use({ viewport: { width: 1280, height: 800 } });

/** A team whose admin (Olive) signs up through the API, with a chatbot offering chats automatically. */
async function team() {
  const unique = Math.random().toString(36).slice(2, 10);
  const owner = {
    name: "Olive",
    email: `olive-${unique}@team.test`,
    password: `a long passphrase ${unique}`,
  };
  const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
    "POST",
    "/api/tenant/tenants",
    {
      tenantName: `Team ${unique}`,
      adminName: owner.name,
      adminEmail: owner.email,
      adminPassword: owner.password,
    },
  );
  const token = signup.tokens.accessToken;
  const created = await api<{ chatbot: { id: string }; apiKey: string; identitySecret: string }>(
    "POST",
    "/api/chatbots/chatbots",
    { name: "Shop support", allowedOrigins: [await shopOrigin()] },
    { token },
  );
  const routing = { mode: "automatic", offerSeconds: 30 };
  const updated = await api<{ routing: unknown }>(
    "PATCH",
    `/api/chatbots/chatbots/${created.chatbot.id}`,
    { routing },
    { token },
  );
  expect(updated.routing).toEqual(routing);
  const bot: Chatbot = {
    tenantId: signup.tenant.id,
    chatbotId: created.chatbot.id,
    apiKey: created.apiKey,
    identitySecret: created.identitySecret,
    accessToken: token,
    agentName: owner.name,
  };
  return { owner, token, bot, unique };
}

/** A visitor in a browser of their own, identified by the shop, with the widget open. */
async function visitorOf(page: Page, bot: Chatbot, name: string, email: string) {
  await openShop(page, bot, { script: identify(name, email, sign(bot.identitySecret, email)) });
  await expect(widget(page).getByRole("log").locator("li").first()).toBeVisible();
}

/** The team page's row of `name`: its availability and load cells. */
const row = (page: Page, name: string) => page.getByRole("row", { name: new RegExp(name) });

test("an agent switches to Away and back; the team page shows it live, a reload keeps it", async ({
  browser,
}) => {
  const { owner, token } = await team();
  const max = await inviteAgent(token, "Max");
  const olive = await (await browser.newContext()).newPage();
  const maxPage = await (await browser.newContext()).newPage();
  await signIn(olive, owner.email, owner.password);
  await olive.getByRole("link", { name: "Agents" }).click();
  // Max has no console open yet.
  await expect(row(olive, "Max")).toContainText("Offline");
  await expect(row(olive, "Olive")).toContainText("Online");
  await expect(row(olive, "Olive")).toContainText("0 / 5");

  await signIn(maxPage, max.email, max.password);
  const online = maxPage.getByRole("radio", { name: "Online" });
  const away = maxPage.getByRole("radio", { name: "Away" });
  await expect(online).toBeChecked();
  await expect(row(olive, "Max")).toContainText("Online");

  await away.check();
  await expect(away).toBeChecked();
  await expect(row(olive, "Max")).toContainText("Away");
  await screenshot(maxPage, "routing-1-away");
  await screenshot(olive, "routing-2-team-page");
  await noSeriousViolations(olive, "the team page with availability");

  // Kept on the account: a reload (a new connection) is still away.
  await maxPage.reload();
  await expect(maxPage.getByRole("radio", { name: "Away" })).toBeChecked();
  await expect(row(olive, "Max")).toContainText("Away");

  await maxPage.getByRole("radio", { name: "Online" }).check();
  await expect(maxPage.getByRole("radio", { name: "Online" })).toBeChecked();
  await expect(row(olive, "Max")).toContainText("Online");

  // Closing the console makes them offline.
  await maxPage.close();
  await expect(row(olive, "Max")).toContainText("Offline");
});

test("a chat offered to the online agent is accepted, chatted in, then transferred to a teammate", async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const { owner, token, bot, unique } = await team();
  const max = await inviteAgent(token, "Max");
  const olive = await (await browser.newContext()).newPage();
  await signIn(olive, owner.email, owner.password);
  await expect(olive.getByRole("radio", { name: "Online" })).toBeChecked();

  // The visitor's chat is offered to Olive, the one agent online: it stands out, counting down.
  const visitor = await (await browser.newContext()).newPage();
  await visitorOf(visitor, bot, "Grace", `grace-${unique}@visitor.test`);
  const offer = olive.locator("li.offered");
  await expect(offer).toContainText("Offered to you");
  await expect(offer).toContainText("Grace");
  await expect(offer).toContainText("waiting under a minute");
  const left = async () => Number(/(\d+) s left/.exec((await offer.textContent()) ?? "")?.[1]);
  const first = await left();
  expect(first).toBeGreaterThan(0);
  expect(first).toBeLessThanOrEqual(30);
  await expect.poll(left, { message: "the countdown ticks" }).toBeLessThan(first);
  await screenshot(olive, "routing-3-offered-to-you");
  await noSeriousViolations(olive, "the inbox with an offer");

  // Accept = join: the conversation opens, and she chats with the visitor.
  await olive.getByRole("button", { name: "Accept Grace" }).click();
  await expect(olive).toHaveURL(/\/console\/chatrooms\//);
  const chatroomUrl = olive.url();
  await expect(olive.getByRole("heading", { name: "Grace" })).toBeVisible();
  await expect(widget(visitor).getByRole("heading")).toHaveText("Olive");
  const box = widget(visitor).getByLabel("Message");
  await box.fill("Where is my order?");
  await box.press("Enter");
  await expect(olive.getByRole("log", { name: "Messages" })).toContainText("Where is my order?");
  await olive.getByLabel("Message", { exact: true }).fill("Let me ask the shipping team.");
  await olive.getByLabel("Message", { exact: true }).press("Enter");
  await expect(widget(visitor).getByRole("log")).toContainText("Let me ask the shipping team.");

  // Transfer: nobody else is online yet, so only "Back to queue" is there.
  const transfer = olive.getByRole("button", { name: "Transfer" });
  await transfer.click();
  await expect(olive.getByText("No other agent is online with room for another conversation.")).toBeVisible();
  await expect(olive.getByRole("button", { name: "Back to queue" })).toBeVisible();
  await olive.keyboard.press("Escape");
  await expect(olive.getByRole("button", { name: "Back to queue" })).toHaveCount(0);

  // Max opens his console; the menu lists him with his load, live.
  const maxPage = await (await browser.newContext()).newPage();
  await signIn(maxPage, max.email, max.password);
  await transfer.click();
  const toMax = olive.getByRole("button", { name: "Transfer to Max" });
  await expect(toMax).toContainText("0 / 5");
  await screenshot(olive, "routing-4-transfer-menu");
  await noSeriousViolations(olive, "the transfer menu");
  await toMax.click();

  // Olive's console lets go of it and says where it went; Max's follows it; the visitor is told.
  await expect(olive.getByText("You transferred this conversation to Max.")).toBeVisible();
  await expect(olive.getByRole("heading", { name: "Mine (0)" })).toBeVisible();
  const allOpen = olive.getByRole("navigation", { name: "Conversations" });
  await expect(allOpen.getByRole("link", { name: /Grace/ })).toContainText("with Max");
  await expect(widget(visitor).getByRole("log")).toContainText("Olive transferred the chat to Max");
  await expect(widget(visitor).getByRole("heading")).toHaveText("Max");
  await maxPage.getByRole("link", { name: /Grace/ }).click();
  await expect(maxPage.getByRole("heading", { name: "Grace" })).toBeVisible();
  const maxLog = maxPage.getByRole("log", { name: "Messages" });
  await expect(maxLog).toContainText("Where is my order?");
  await expect(maxLog).toContainText("Let me ask the shipping team.");
  await maxPage.getByLabel("Message", { exact: true }).fill("Max here: it ships tomorrow.");
  await maxPage.getByLabel("Message", { exact: true }).press("Enter");
  await expect(widget(visitor).getByRole("log")).toContainText("Max here: it ships tomorrow.");
  await screenshot(maxPage, "routing-5-transferred-to-max");
  await screenshot(olive, "routing-6-handed-over");
  await screenshot(visitor, "routing-7-visitor-told");

  // Olive (a moderator) can still open it, read-only, from the address she had.
  await olive.goto(chatroomUrl);
  await expect(olive.getByText("Only Max, who holds this conversation, can reply.")).toBeVisible();

  // The team page: Max holds one conversation.
  await olive.getByRole("link", { name: "Agents" }).click();
  await expect(row(olive, "Max")).toContainText("Online");
  await expect(row(olive, "Max")).toContainText("1 / 5");
  await expect(row(olive, "Olive")).toContainText("0 / 5");

  // A second visitor: offered to one of the two; declined, it passes to the other.
  await olive.getByRole("link", { name: "Inbox" }).click();
  const second = await (await browser.newContext()).newPage();
  await visitorOf(second, bot, "Hank", `hank-${unique}@visitor.test`);
  const offeredTo = async (page: Page) => page.locator("li.offered", { hasText: "Hank" }).count();
  await expect
    .poll(async () => (await offeredTo(olive)) + (await offeredTo(maxPage)), {
      message: "Hank is offered to one agent",
    })
    .toBe(1);
  const [declining, next, nextName] =
    (await offeredTo(olive)) === 1 ? [olive, maxPage, "Max"] : [maxPage, olive, "Olive"];
  await declining.getByRole("button", { name: "Decline Hank" }).click();
  await expect(next.locator("li.offered", { hasText: "Hank" })).toContainText("Offered to you");
  await expect(declining.locator("li.waiting", { hasText: "Hank" })).toContainText(`Offered to ${nextName}`);
  await screenshot(declining, "routing-8-offered-to-other");
  await next.getByRole("button", { name: "Accept Hank" }).click();
  await expect(next.getByRole("heading", { name: "Hank" })).toBeVisible();
  await expect(widget(second).getByRole("heading")).toHaveText(nextName);
});

test("a transfer the server refuses (the agent went away meanwhile) says why, and Back to queue works", async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const { owner, token, bot, unique } = await team();
  const max = await inviteAgent(token, "Max");
  // Olive's console hears the server through this route, which can hold back the `agents`
  // frames: her transfer menu then still lists Max after he went away, as in a race.
  const olive = await (await browser.newContext()).newPage();
  const held: { agents: { name: string; availability: string }[] }[] = [];
  let holding = false;
  await olive.routeWebSocket(/\/v1\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((message) => server.send(message));
    server.onMessage((message) => {
      const frame = JSON.parse(String(message));
      if (holding && frame.type === "agents") held.push(frame);
      else ws.send(message);
    });
  });
  await signIn(olive, owner.email, owner.password);
  const maxPage = await (await browser.newContext()).newPage();
  await signIn(maxPage, max.email, max.password);

  const visitor = await (await browser.newContext()).newPage();
  await visitorOf(visitor, bot, "Grace", `grace-${unique}@visitor.test`);
  // Offered to one of the two; Olive takes it either way (a join while offered to Max is allowed).
  await expect(olive.locator("li.waiting", { hasText: "Grace" })).toBeVisible();
  const take = olive.getByRole("button", { name: /^(Accept|Join) Grace$/ });
  await take.click();
  await expect(olive.getByRole("heading", { name: "Grace" })).toBeVisible();

  await olive.getByRole("button", { name: "Transfer" }).click();
  await expect(olive.getByRole("button", { name: "Transfer to Max" })).toBeVisible();
  holding = true;
  await maxPage.getByRole("radio", { name: "Away" }).check();
  await expect
    .poll(() => held.some((f) => f.agents.some((a) => a.name === "Max" && a.availability === "away")), {
      message: "the server tells Olive's console that Max is away (held back)",
    })
    .toBe(true);
  await olive.getByRole("button", { name: "Transfer to Max" }).click();
  await expect(olive.getByRole("alert")).toHaveText(
    "That agent can't take it now: they're away or offline. Choose someone else, or put it back in the queue.",
  );
  await expect(olive.getByRole("heading", { name: "Grace" })).toBeVisible();
  await screenshot(olive, "routing-9-transfer-refused");

  // The frames go through again: Max is no longer in the menu.
  holding = false;
  await maxPage.getByRole("radio", { name: "Online" }).check();
  await maxPage.getByRole("radio", { name: "Away" }).check();
  await olive.getByRole("button", { name: "Transfer" }).click();
  await expect(olive.getByText("No other agent is online with room for another conversation.")).toBeVisible();
  await olive.getByRole("button", { name: "Back to queue" }).click();
  await expect(olive.getByText("You put this conversation back in the queue.")).toBeVisible();
  await expect(widget(visitor).getByRole("log")).toContainText(
    "Olive transferred the chat; the next available agent will join shortly",
  );
  await expect(olive.locator("li.waiting", { hasText: "Grace" })).toBeVisible();
  await screenshot(olive, "routing-10-back-to-queue");
});
