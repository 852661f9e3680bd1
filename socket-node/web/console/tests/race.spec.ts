// Two agents of one team race for the same visitor: one holds the chatroom, the other is told
// who did. The second agent is invited through the API and sets a password from the email's
// link, as a new teammate does.

import { expect, type Page, test } from "@playwright/test";
import { api, inviteAgent, signIn } from "../../tests/support";

test("two agents race to join: one holds it, the other sees who did", async ({ browser }) => {
  const unique = Math.random().toString(36).slice(2, 10);
  const password = `a long passphrase ${unique}`;
  const owner = { email: `lead-${unique}@team.test`, name: "Lena" };
  const signup = await api<{ tokens: { accessToken: string } }>("POST", "/api/tenant/tenants", {
    tenantName: `Team ${unique}`,
    adminName: owner.name,
    adminEmail: owner.email,
    adminPassword: password,
  });
  const token = signup.tokens.accessToken;
  const teammate = await inviteAgent(token, "Max");

  const chatbot = await api<{ apiKey: string; chatbot: { id: string } }>(
    "POST",
    "/api/chatbots/chatbots",
    { name: "Support", allowedOrigins: ["*"] },
    { token },
  );
  const me = await api<{ tenant: { id: string } }>("GET", "/api/tenant/me", undefined, { token });

  const lena = await (await browser.newContext()).newPage();
  const max = await (await browser.newContext()).newPage();
  await signIn(lena, owner.email, password);
  await signIn(max, teammate.email, teammate.password);

  await api("POST", "/v1/visitor/sessions", {
    tenantId: me.tenant.id,
    apiKey: chatbot.apiKey,
    name: "Rita",
    email: `rita-${unique}@visitor.test`,
  });
  const lenaJoin = lena.getByRole("button", { name: "Join Rita" });
  const maxJoin = max.getByRole("button", { name: "Join Rita" });
  await expect(lenaJoin).toBeVisible();
  await expect(maxJoin).toBeVisible();
  // Both click at the same moment. (Playwright's own click waits for the button to be stable and
  // would wait for ever on the one the other agent's win removed.)
  const buttons = await Promise.all([lenaJoin.elementHandle(), maxJoin.elementHandle()]);
  await Promise.all(buttons.map((button) => button?.evaluate((el) => (el as HTMLButtonElement).click())));

  // Exactly one holds Rita; the other is told who, by name.
  const held = async (page: Page) =>
    (await page.getByRole("heading", { name: "Rita" }).count()) > 0 ? "held" : "lost";
  await expect
    .poll(async () => [await held(lena), await held(max)].sort().join(","), { timeout: 15_000 })
    .toBe("held,lost");
  const [winner, loser] = (await held(lena)) === "held" ? [owner.name, max] : [teammate.name, lena];
  await expect(loser.getByRole("alert")).toHaveText(`${winner} joined this chatroom first.`);
});
