// A team lead with chatrooms:moderate sees every open conversation and reads one another agent
// holds, live and read-only; a long conversation shows its latest messages and loads earlier ones
// a page at a time from the server. The other agent speaks the WebSocket protocol, as the console
// does, from several connections (each has its own sending allowance, so sixty messages go at once).

import { expect, test } from "@playwright/test";
import { Agent, api, inviteAgent, noSeriousViolations, screenshot, signIn } from "../../tests/support";

test("a moderator watches another agent's long conversation live, read-only, and pages back to its start", async ({
  page,
}) => {
  const unique = Math.random().toString(36).slice(2, 10);
  const lead = { name: "Lena", email: `lena-${unique}@team.test`, password: `a long passphrase ${unique}` };
  const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
    "POST",
    "/api/tenant/tenants",
    {
      tenantName: `Team ${unique}`,
      adminName: lead.name,
      adminEmail: lead.email,
      adminPassword: lead.password,
    },
  );
  const token = signup.tokens.accessToken;
  const max = await inviteAgent(token, "Max");
  const chatbot = await api<{ apiKey: string }>(
    "POST",
    "/api/chatbots/chatbots",
    { name: "Support", allowedOrigins: ["*"] },
    { token },
  );
  const visitor = `rita-${unique}@visitor.test`;
  await api("POST", "/v1/visitor/sessions", {
    tenantId: signup.tenant.id,
    apiKey: chatbot.apiKey,
    name: "Rita",
    email: visitor,
  });

  // Max joins Rita and writes sixty answers (seqs 3 to 62, after the greeting and the join).
  const holder = await Agent.connect(max);
  const maxes = [holder, ...(await Promise.all(Array.from({ length: 5 }, () => Agent.connect(max))))];
  const room = String((await holder.waiting(visitor)).chatroomId);
  await holder.join(room);
  for (const [i, connection] of maxes.entries())
    for (let n = 1; n <= 10; n++) await connection.send(room, `answer ${i * 10 + n}`);

  await signIn(page, lead.email, lead.password);
  const open = page.getByRole("region", { name: /All open/ });
  await expect(open.getByRole("heading")).toHaveText("All open (1)");
  await expect(open.getByRole("link", { name: /Rita/ })).toContainText("with Max");
  await open.getByRole("link", { name: /Rita/ }).click();

  // The latest fifty messages, read-only, with the way back to the rest.
  const log = page.getByRole("log", { name: "Messages" });
  await expect(page.getByRole("heading", { name: "Rita" })).toBeVisible();
  await expect(page.getByText("you are watching; Max holds it")).toBeVisible();
  await expect(log.locator("li")).toHaveCount(50);
  await expect(log.locator("li").last()).toContainText("answer 60");
  await expect(log.getByText("answer 10", { exact: true })).toHaveCount(0);
  await expect(page.getByRole("textbox", { name: "Message" })).toHaveCount(0);
  await expect(page.getByText("Only Max, who holds this conversation, can reply.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Leave" })).toHaveCount(0);
  await expect(log.locator("li").last()).toBeInViewport();
  await noSeriousViolations(page, "a watched conversation");
  await screenshot(page, "console-watching");

  await log.getByRole("button", { name: "Load earlier messages" }).click();
  await expect(log.locator("li")).toHaveCount(62);
  await expect(log.locator("li").first()).toContainText("A live agent will join shortly");
  await expect(log.getByText("answer 1", { exact: true })).toBeVisible();
  await expect(log.getByRole("button", { name: "Load earlier messages" })).toHaveCount(0);
  await expect(
    log.getByText("answer 11", { exact: true }),
    "the reader stays where they were",
  ).toBeInViewport();

  // Live: what Max writes next shows at once.
  await holder.send(room, "anything else I can do?");
  await expect(log.locator("li").last()).toContainText("anything else I can do?");

  // Max closes it: the conversation shows its end and the open list empties.
  holder.raw({ type: "close", chatroomId: room });
  await expect(page.getByText("This conversation has ended (closed_by_agent).")).toBeVisible();
  await expect(open.getByRole("heading")).toHaveText("All open (0)");
  for (const connection of maxes) connection.close();
});
