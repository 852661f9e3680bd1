// Parley's real topology (scripts/stack) as people meet it: everything over https and wss
// through nginx. A visitor in the widget and an agent in the console talk; the socket-node they
// are on is killed (-9) and both carry on through nginx on the other node with every message
// there once, in order; a tenant replica is killed and signing in keeps working, while the
// status page shows that replica down. The visitor's address Parley keeps is the one nginx saw,
// whatever X-Forwarded-For the visitor's browser made up.

import { readFileSync } from "node:fs";
import { expect, type Locator, test } from "@playwright/test";
import {
  api,
  chatbotOf,
  identify,
  openShop,
  PARLEY_URL,
  screenshot,
  shopOrigin,
  sign,
  signUp,
  widget,
} from "../../tests/support";

interface Process {
  name: string;
  pid: number;
  address: string;
}
const stack = JSON.parse(readFileSync(process.env.PARLEY_STACK_STATE ?? "", "utf8")) as {
  url: string;
  httpUrl: string;
  processes: Process[];
};
const processNamed = (name: string) => {
  const found = stack.processes.find((p) => p.name === name);
  if (!found) throw new Error(`the stack has no process ${name}`);
  return found;
};

/** A socket-node's open WebSocket connections by role, from its own /metrics (not through nginx). */
async function connections(node: Process): Promise<{ visitor: number; agent: number }> {
  const text = await fetch(`http://${node.address}/metrics`).then((r) => r.text());
  const count = (role: string) =>
    Number(new RegExp(`^parley_connections\\{role="${role}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return { visitor: count("visitor"), agent: count("agent") };
}

/** The texts of the messages in `log`, top to bottom, each with its seq. */
const shown = (log: Locator) =>
  log
    .locator("li[data-seq]")
    .evaluateAll((items) =>
      items.map((li) => [
        Number((li as HTMLElement).dataset.seq),
        (li.querySelector("p") ?? li).textContent ?? "",
      ]),
    );

/** Every message of `texts` is in `log` exactly once. */
async function eachOnce(log: Locator, texts: string[]) {
  for (const text of texts) await expect(log.getByText(text, { exact: true })).toHaveCount(1);
}

async function replicaStatus(address: string): Promise<string | undefined> {
  const status = await api<{ replicas: { address: string; status: string }[] }>(
    "GET",
    "/api/analytics/status",
  );
  return status.replicas.find((r) => r.address === address)?.status;
}

test("a conversation through nginx outlives its socket-node and a tenant replica", async ({
  page,
  browser,
}) => {
  expect(PARLEY_URL).toBe(stack.url);
  // Plain HTTP moves to HTTPS.
  const plain = await fetch(`${stack.httpUrl}/console`, { redirect: "manual" });
  expect(plain.status).toBe(301);
  expect(plain.headers.get("location")).toBe(`${stack.url}/console`);

  // The owner signs up in the console, over HTTPS, under its content security policy.
  const problems: string[] = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  const { email, password } = await signUp(page);

  const bot = await chatbotOf(email, password, "Olive");
  const visitor = await (await browser.newContext()).newPage();
  const visitorEmail = email.replace("owner-", "grace-");
  await openShop(visitor, bot, {
    script: identify("Grace", visitorEmail, sign(bot.identitySecret, visitorEmail)),
  });
  const box = widget(visitor).getByLabel("Message");
  await box.fill("Hello, is anyone there?");
  await box.press("Enter");

  await page.getByRole("button", { name: "Join Grace" }).click();
  await expect(page.getByRole("heading", { name: "Grace" })).toBeVisible();
  await expect(page.getByRole("complementary", { name: "Visitor" })).toContainText("127.0.0.1");

  const log = page.getByRole("log", { name: "Messages" });
  const visitorLog = widget(visitor).getByRole("log");
  const composer = page.getByLabel("Message", { exact: true });
  await expect(log).toContainText("Hello, is anyone there?");
  await composer.fill("Hi Grace, Olive here.");
  await composer.press("Enter");
  await expect(visitorLog).toContainText("Hi Grace, Olive here.");
  await screenshot(page, "edge-1-conversation");

  // Both ends hash to one node (the same client address); kill it outright.
  const nodes: [Process, Process] = [processNamed("socket-node-1"), processNamed("socket-node-2")];
  const counts = await Promise.all(nodes.map(connections));
  const on = counts.findIndex((c) => c.visitor > 0);
  expect(on, `one node holds the visitor: ${JSON.stringify(counts)}`).toBeGreaterThanOrEqual(0);
  const [dead, alive] = on === 0 ? nodes : [nodes[1], nodes[0]];
  process.kill(dead.pid, "SIGKILL");

  // Both reconnect through nginx to the other node and resume; what they write meanwhile arrives.
  await box.fill("Are you still there?");
  await box.press("Enter");
  await composer.fill("Still here.");
  await composer.press("Enter");
  await expect.poll(() => connections(alive), { timeout: 30_000 }).toMatchObject({ visitor: 1, agent: 1 });
  const said = ["Hello, is anyone there?", "Hi Grace, Olive here.", "Are you still there?", "Still here."];
  await eachOnce(log, said);
  await eachOnce(visitorLog, said);
  await expect(widget(visitor).locator("li[data-state=sending]")).toHaveCount(0);
  // Each side has every seq once, in order, and both show the same conversation: what was said
  // before the node died first, then what each wrote meanwhile (in the order the store took them).
  const conversations = [];
  for (const view of [log, visitorLog]) {
    const messages = await shown(view);
    expect(messages.map(([seq]) => seq)).toEqual(messages.map((_, i) => i + 1));
    // Between the messages, the conversation's own notes (who joined).
    conversations.push(
      messages.map(([, text]) => said.find((s) => String(text).includes(s))).filter(Boolean),
    );
  }
  expect(conversations[1]).toEqual(conversations[0]);
  expect(conversations[0]?.slice(0, 2)).toEqual(said.slice(0, 2));
  expect([...(conversations[0] ?? [])].sort()).toEqual([...said].sort());
  await screenshot(visitor, "edge-2-visitor-after-the-node-died");

  // A tenant replica dies: every sign-in still succeeds (nginx passes it to the other one).
  const tenant = processNamed("tenant-1");
  process.kill(tenant.pid, "SIGKILL");
  // Once it is gone (a sign-in it had already taken in dies with it: nginx answers that one 503
  // and never replays a POST; the console says to retry).
  const refused = () =>
    fetch(`http://${tenant.address}/healthz`).then(
      () => false,
      () => true,
    );
  await expect.poll(refused, { message: "the killed replica refuses connections" }).toBe(true);
  for (let i = 0; i < 6; i++) {
    const login = await api<{ accessToken: string }>("POST", "/api/tenant/auth/login", { email, password });
    expect(login.accessToken).toBeTruthy();
  }
  // And the status shows it down once its heartbeats stop, the other replica up.
  await expect.poll(() => replicaStatus(tenant.address), { timeout: 30_000 }).toBe("down");
  expect(await replicaStatus(processNamed("tenant-2").address)).toBe("up");
  await page.goto("/console/analytics");
  await expect(page.getByRole("row", { name: new RegExp(`tenant ${tenant.address}`) })).toContainText("down");
  await screenshot(page, "edge-3-status");

  // A visitor who sends X-Forwarded-For of their own is kept at the address nginx saw.
  await api(
    "POST",
    "/v1/visitor/sessions",
    {
      tenantId: bot.tenantId,
      apiKey: bot.apiKey,
      name: "Mallory",
      email: email.replace("owner-", "mallory-"),
    },
    { headers: { origin: await shopOrigin(), "x-forwarded-for": "192.0.2.66" } },
  );
  await page.goto("/console");
  await page.getByRole("button", { name: "Join Mallory" }).click();
  const panel = page.getByRole("complementary", { name: "Visitor" });
  await expect(panel).toContainText("127.0.0.1");
  await expect(panel).not.toContainText("192.0.2.66");

  expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
});

test("nginx's own answers: security headers, and refusals in Parley's error shape", async () => {
  // The console is under a content security policy; the widget's script, which runs on the
  // tenants' pages, under none of ours. Both only over HTTPS (HSTS).
  const consolePage = await fetch(`${stack.url}/console`);
  expect(consolePage.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  expect(consolePage.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  const loader = await fetch(`${stack.url}/widget.js`);
  expect(loader.status).toBe(200);
  expect(loader.headers.get("content-security-policy")).toBeNull();

  // A body over the limit never reaches a function.
  const huge = await fetch(`${stack.url}/api/tenant/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "a@b.test", password: "x".repeat(300_000) }),
  });
  expect(huge.status).toBe(413);
  expect(await huge.json()).toMatchObject({ code: "body_too_large" });

  // A flood of sign-ups from one address is turned away at the edge, in words a client reads.
  // Parley itself answers an empty sign-up 422 before counting it, so every 429 is nginx's.
  const answers = await Promise.all(
    Array.from({ length: 40 }, () =>
      fetch(`${stack.url}/api/tenant/tenants`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }).then(async (r) => ({ status: r.status, type: r.headers.get("content-type"), body: await r.text() })),
    ),
  );
  const refused = answers.filter((a) => a.status === 429);
  const statuses = JSON.stringify(answers.map((a) => a.status));
  expect(refused.length, statuses).toBeGreaterThan(0);
  expect(
    answers.every((a) => a.status === 429 || a.status === 422),
    statuses,
  ).toBe(true);
  for (const answer of refused) {
    expect(answer.type).toContain("application/json");
    expect(JSON.parse(answer.body)).toMatchObject({ code: "rate_limited" });
  }
});
