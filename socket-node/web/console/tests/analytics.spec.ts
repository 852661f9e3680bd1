// The analytics pages on a Parley with its real services: a tenant's day of chat made through the
// APIs (two visitors, an agent who takes and answers both and closes one), the report job's figures
// for it (time to assignment too),
// then the console's reports page showing the very figures the API answers, its CSV downloads
// carrying the API's CSV, and the status page listing every component up.

import { readFileSync } from "node:fs";
import { expect, type Locator, type Page, test } from "@playwright/test";
import {
  Agent,
  api,
  type Chatbot,
  noSeriousViolations,
  PARLEY_URL,
  screenshot,
  shopOrigin,
  signIn,
} from "../../tests/support";
import { count, duration, hour } from "../src/pages/analytics/format";

interface Seeded {
  bot: Chatbot;
  email: string;
  password: string;
  sockets: Agent[];
}

let seeded: Seeded;

async function get(path: string, token: string): Promise<Response> {
  const response = await fetch(`${PARLEY_URL}/api/analytics${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response;
}

const json = async <T>(path: string) => (await get(path, seeded.bot.accessToken)).json() as Promise<T>;
const csv = async (path: string) => (await get(path, seeded.bot.accessToken)).text();

/** A visitor opens a conversation (from the shop's origin) and is on the WebSocket. */
async function visitor(bot: Chatbot, name: string, email: string) {
  const session = await api<{ chatroomId: string; token: string }>(
    "POST",
    "/v1/visitor/sessions",
    { tenantId: bot.tenantId, apiKey: bot.apiKey, name, email },
    { headers: { origin: await shopOrigin() } },
  );
  const socket = await Agent.connect({ ...bot, accessToken: session.token });
  return { chatroomId: session.chatroomId, socket };
}

test.beforeAll(async () => {
  const unique = Math.random().toString(36).slice(2, 10);
  const email = `ada-${unique}@shop.test`;
  const password = `a long passphrase ${unique}`;
  const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
    "POST",
    "/api/tenant/tenants",
    {
      tenantName: `Shop ${unique}`,
      adminName: "Ada",
      adminEmail: email,
      adminPassword: password,
    },
  );
  const created = await api<{ chatbot: { id: string }; apiKey: string; identitySecret: string }>(
    "POST",
    "/api/chatbots/chatbots",
    { name: "Shop support", allowedOrigins: [await shopOrigin()] },
    { token: signup.tokens.accessToken },
  );
  const bot: Chatbot = {
    tenantId: signup.tenant.id,
    chatbotId: created.chatbot.id,
    apiKey: created.apiKey,
    identitySecret: created.identitySecret,
    accessToken: signup.tokens.accessToken,
    agentName: "Ada",
  };

  // Two conversations: both answered, the first closed by the agent, the second still open.
  const agent = await Agent.connect(bot);
  const sockets = [agent];
  for (const [i, name] of ["Grace", "Linus"].entries()) {
    const { chatroomId, socket } = await visitor(bot, name, `${name.toLowerCase()}-${unique}@visitor.test`);
    sockets.push(socket);
    await socket.send(chatroomId, `Hello, I am ${name}`);
    await agent.waiting(`${name.toLowerCase()}-${unique}@visitor.test`);
    await agent.join(chatroomId);
    await agent.send(chatroomId, `Hi ${name}, how can I help?`);
    await socket.send(chatroomId, "Where is my order?");
    if (i === 0) {
      agent.raw({ type: "close", chatroomId });
      await agent.next((f) => f.type === "chatroom" && f.chatroomId === chatroomId && f.status === "closed");
    }
  }
  seeded = { bot, email, password, sockets };

  // The report job (every PARLEY_REPORT_INTERVAL_SECS) has today's figures.
  const today = new Date().toISOString().slice(0, 10);
  await expect
    .poll(
      async () => {
        const { days } = await json<DailyReports>(`/reports?from=${today}&to=${today}`);
        const day = days[0];
        return (
          day && [
            day.chatrooms,
            day.messages.visitor,
            day.messages.agent,
            day.resolution.count,
            day.timeToAssignment?.count,
          ]
        );
      },
      { timeout: 60_000, message: "today's report with the two conversations" },
    )
    .toEqual([2, 4, 2, 1, 2]);
});

test.afterAll(() => {
  for (const socket of seeded?.sockets ?? []) socket.close();
});

interface Timings {
  count: number;
  medianSecs?: number | null;
  p90Secs?: number | null;
}

interface DailyReports {
  from: string;
  to: string;
  totals: {
    chatrooms: number;
    messages: { visitor: number; agent: number; system: number };
    abandoned: number;
  };
  days: {
    date: string;
    chatrooms: number;
    messages: { visitor: number; agent: number; system: number };
    firstResponse: Timings;
    resolution: Timings;
    /** Absent from reports computed before it was recorded. */
    timeToAssignment?: Timings;
    hours: { hour: number; chatrooms: number; messages: number }[];
  }[];
}

/** Each body row's cells, as text. */
const cells = (table: Locator) =>
  table
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((row) => [...(row as HTMLTableRowElement).cells].map((cell) => cell.textContent ?? "")),
    );

/** Clicks a download button and answers the saved file's text. */
async function download(page: Page, button: string): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: button }).click(),
  ]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), "utf8") };
}

/** CSV lines without the report's last column (computed_at, which each run of the job renews). */
const withoutComputedAt = (text: string) =>
  text
    .trimEnd()
    .split("\r\n")
    .map((line) => line.split(",").slice(0, -1).join(","));

test("the reports page shows the API's figures, in charts and tables, and downloads its CSV", async ({
  page,
}) => {
  await signIn(page, seeded.email, seeded.password);
  await page.getByRole("link", { name: "Analytics" }).click();
  await page.getByRole("link", { name: "Usage reports" }).click();
  await expect(page).toHaveURL(/\/console\/analytics\/reports$/);
  await expect(page.getByRole("link", { name: "Analytics" })).toHaveAttribute("aria-current", "page");

  // The API's default range, as the page shows it.
  const reports = await json<DailyReports>("/reports");
  const agents = await json<{
    agents: {
      date: string;
      name: string;
      chatrooms: number;
      messages: number;
      firstResponseMedianSecs?: number | null;
    }[];
  }>(`/reports/agents?from=${reports.from}&to=${reports.to}`);
  await expect(page.getByLabel("From", { exact: true })).toHaveValue(reports.from);
  await expect(page.getByLabel("To", { exact: true })).toHaveValue(reports.to);
  expect(reports.days.length).toBeGreaterThan(0);

  const totals = page.locator(".totals");
  await expect(totals).toContainText(`Conversations${count(reports.totals.chatrooms)}`);
  const sent = reports.totals.messages;
  await expect(totals).toContainText(`Messages${count(sent.visitor + sent.agent + sent.system)}`);

  const table = (name: string) => page.getByRole("table", { name, exact: true });
  expect(await cells(table("Conversations per day"))).toEqual(
    reports.days.map((d) => [d.date, count(d.chatrooms)]),
  );
  expect(await cells(table("Messages by sender"))).toEqual(
    reports.days.map((d) => [
      d.date,
      count(d.messages.visitor),
      count(d.messages.agent),
      count(d.messages.system),
    ]),
  );
  expect(await cells(table("Time to assignment and first response"))).toEqual(
    reports.days.map((d) => [
      d.date,
      duration(d.timeToAssignment?.medianSecs),
      duration(d.timeToAssignment?.p90Secs),
      duration(d.firstResponse.medianSecs),
      duration(d.firstResponse.p90Secs),
    ]),
  );
  expect(await cells(table("Resolution"))).toEqual(
    reports.days.map((d) => [d.date, duration(d.resolution.medianSecs), duration(d.resolution.p90Secs)]),
  );
  // Both conversations were taken: today's time to assignment has a figure.
  const today = reports.days.find((d) => d.date === new Date().toISOString().slice(0, 10));
  expect(typeof today?.timeToAssignment?.medianSecs).toBe("number");
  const hours = Array.from({ length: 24 }, (_, h) => [
    hour(h),
    count(reports.days.reduce((sum, d) => sum + (d.hours[h]?.chatrooms ?? 0), 0)),
    count(reports.days.reduce((sum, d) => sum + (d.hours[h]?.messages ?? 0), 0)),
  ]);
  expect(await cells(table("Busiest hours (UTC)"))).toEqual(hours);
  expect(await cells(table("Agents, per day"))).toEqual(
    agents.agents.map((a) => [
      a.date,
      a.name,
      count(a.chatrooms),
      count(a.messages),
      duration(a.firstResponseMedianSecs),
    ]),
  );
  // Today's figures are the seeded ones, with Ada answering both conversations.
  expect(agents.agents.some((a) => a.name === "Ada" && a.chatrooms === 2 && a.messages === 2)).toBe(true);

  // Every chart is drawn, with a tooltip naming the slot under the cursor.
  await expect(page.locator(".plot canvas")).toHaveCount(5);
  await screenshot(page, "analytics-1-reports");
  await page.locator("#waiting-title").scrollIntoViewIfNeeded();
  await screenshot(page, "analytics-1b-reports-waiting-times");
  const hoursChart = page.locator("#hours-title ~ .plot .u-over");
  const box = await hoursChart.boundingBox();
  if (!box) throw new Error("the busiest hours' chart has no box");
  await hoursChart.hover({ position: { x: box.width / 48, y: box.height / 2 } });
  await expect(page.locator("#hours-title ~ .plot .chart-tip")).toContainText("00:00");
  await screenshot(page, "analytics-2-reports-tooltip");
  await page.mouse.move(0, 0);
  await noSeriousViolations(page, "the reports page");

  // The downloads carry the API's CSV for the range shown.
  const range = `from=${reports.from}&to=${reports.to}&format=csv`;
  const report = await download(page, "Download daily report (CSV)");
  expect(report.name).toBe(`parley-report-${reports.from}-to-${reports.to}.csv`);
  expect(withoutComputedAt(report.text)).toEqual(withoutComputedAt(await csv(`/reports?${range}`)));
  expect(report.text.split("\r\n")[0]).toContain("first_response_median_secs");
  expect(report.text.split("\r\n")[0]).toContain("assignment_median_secs");
  const perAgent = await download(page, "Download per agent (CSV)");
  expect(perAgent.text).toBe(await csv(`/reports/agents?${range}`));
  const rooms = await download(page, "Download every conversation (CSV)");
  expect(rooms.text).toBe(await csv(`/reports/chatrooms?${range}`));
  expect(rooms.text.trimEnd().split("\r\n")).toHaveLength(3); // the header and two conversations

  // A range the API refuses is said in words.
  await page.getByLabel("From", { exact: true }).fill("2026-03-10");
  await page.getByLabel("To", { exact: true }).fill("2026-03-01");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByRole("alert")).toHaveText(
    "The first day must come before the last, and a range can't be longer than 366 days.",
  );
});

test("the status page shows every component and the chatbots now", async ({ page }) => {
  await signIn(page, seeded.email, seeded.password);
  await page.getByRole("link", { name: "Analytics" }).click();
  await expect(page.getByRole("heading", { name: "System status" })).toBeVisible();

  const components = page.getByRole("table", { name: "Components" });
  for (const name of ["MongoDB", "Redis", "Kafka"])
    await expect(components.getByRole("row", { name: new RegExp(`^${name} up`) })).toBeVisible();
  const nodes = components.getByRole("row", { name: /^Socket-node / });
  await expect(nodes).toHaveCount(1);
  await expect(nodes).toContainText("up");
  await expect(nodes).toContainText(/\d+ connections?/);

  // The chatbot's row has the API's counts: Linus's conversation is active, nobody waits.
  const status = await json<{
    agentsOnline: number;
    chatbots: { name: string; waiting: number; active: number }[];
  }>("/chatbots/status");
  expect(status.chatbots.map((c) => [c.name, c.waiting, c.active])).toEqual([["Shop support", 0, 1]]);
  const bots = page.getByRole("table", { name: "Chatbots" });
  await expect(
    bots
      .getByRole("row", { name: /^Shop support/ })
      .locator("td")
      .nth(0),
  ).toHaveText("0");
  await expect(
    bots
      .getByRole("row", { name: /^Shop support/ })
      .locator("td")
      .nth(1),
  ).toHaveText("1");
  await expect(page.getByText(/agents? online\./)).toContainText(String(status.agentsOnline));
  await screenshot(page, "analytics-3-status");
  await noSeriousViolations(page, "the status page");

  // A deployment with a status token: the page says why it can't show the status.
  await page.route("**/api/analytics/status", (route) =>
    route.fulfill({
      status: 401,
      contentType: "application/json",
      body: JSON.stringify({ code: "missing_token", message: "missing token" }),
    }),
  );
  await page.reload();
  await expect(page.getByRole("alert")).toContainText("keeps its system status behind a status token");
});
