// The live analytics page on a Parley whose analytics read Tinybird (scripts/dev runs a local
// stand-in): a tenant's three conversations opened through the APIs from two browsers, the admin
// taking and answering one, then the page showing today's figures as
// GET /api/analytics/live/response-times answers them (totals, the whole team, per chatbot, per
// agent), the distribution and the browsers as the API has them, a refresh every 15 seconds
// (the page's clock fast-forwarded, never a sleep) that stops once the page is left.
//
// PARLEY_URL_WITHOUT_TINYBIRD: the address of a Parley without Tinybird (scripts/dev --memory,
// or local-dev without the PARLEY_TINYBIRD_* variables). When set, a second test signs a tenant
// up there and checks the page's panel saying what to set; the CI does not run one, so it skips.

import { expect, type Locator, type Page, test } from "@playwright/test";
import {
  Agent,
  api,
  type Chatbot,
  noSeriousViolations,
  screenshot,
  shopOrigin,
  signIn,
} from "../../tests/support";
import type { ResponseFigures, ResponseTimes } from "../src/api/types";
import { band, count, duration } from "../src/pages/analytics/format";

const WITHOUT_TINYBIRD = process.env.PARLEY_URL_WITHOUT_TINYBIRD ?? "";

const CHROME_ON_WINDOWS =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

interface Seeded {
  bot: Chatbot;
  botName: string;
  email: string;
  password: string;
  sockets: Agent[];
}

let seeded: Seeded;

/** The reader's midnight, as the page asks from (the browser runs in this machine's time zone). */
const midnight = () => new Date(new Date().setHours(0, 0, 0, 0)).toISOString();

async function live<T>(path: string): Promise<T> {
  const query = new URLSearchParams({ from: midnight() });
  return api<T>("GET", `/api/analytics/live/${path}?${query}`, undefined, { token: seeded.bot.accessToken });
}

/** Each body row's cells, as text. */
const cells = (table: Locator) =>
  table
    .locator("tbody tr")
    .evaluateAll((rows) =>
      rows.map((row) => [...(row as HTMLTableRowElement).cells].map((cell) => cell.textContent ?? "")),
    );

/** A chatbot's or agent's row as the page writes it. */
const row = (f: ResponseFigures) => [
  f.name ?? "",
  count(f.chatrooms),
  count(f.wait.count),
  duration(f.wait.medianSecs),
  duration(f.wait.p90Secs),
  count(f.firstResponse.count),
  duration(f.firstResponse.medianSecs),
  duration(f.firstResponse.p90Secs),
];

// The seeded tenant is for the first test alone: the second runs on another Parley.
test.describe("with Tinybird", () => {
  test.beforeAll(async () => {
    const unique = Math.random().toString(36).slice(2, 10);
    const email = `ada-${unique}@shop.test`;
    const password = `a long passphrase ${unique}`;
    const botName = `Night desk ${unique}`;
    const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
      "POST",
      "/api/tenant/tenants",
      { tenantName: `Shop ${unique}`, adminName: "Ada", adminEmail: email, adminPassword: password },
    );
    const created = await api<{ chatbot: { id: string }; apiKey: string; identitySecret: string }>(
      "POST",
      "/api/chatbots/chatbots",
      { name: botName, allowedOrigins: [await shopOrigin()] },
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

    // Three conversations, two from Chrome on Windows and one from Firefox on Linux; Ada takes and
    // answers Grace's, the other two wait.
    const agent = await Agent.connect(bot);
    const sockets = [agent];
    const visitors = [
      ["Grace", CHROME_ON_WINDOWS],
      ["Linus", CHROME_ON_WINDOWS],
      ["Margaret", FIREFOX_ON_LINUX],
    ] as const;
    for (const [i, [name, userAgent]] of visitors.entries()) {
      const visitorEmail = `${name.toLowerCase()}-${unique}@visitor.test`;
      const session = await api<{ chatroomId: string; token: string }>(
        "POST",
        "/v1/visitor/sessions",
        { tenantId: bot.tenantId, apiKey: bot.apiKey, name, email: visitorEmail },
        { headers: { origin: await shopOrigin(), "user-agent": userAgent } },
      );
      const socket = await Agent.connect({ accessToken: session.token });
      sockets.push(socket);
      await socket.send(session.chatroomId, `Hello, I am ${name}`);
      await agent.waiting(visitorEmail);
      if (i === 0) {
        await agent.join(session.chatroomId);
        await agent.send(session.chatroomId, `Hi ${name}, how can I help?`);
      }
    }
    seeded = { bot, botName, email, password, sockets };

    // Tinybird has every event: three chatrooms today, one taken and answered.
    await expect
      .poll(
        async () => {
          const { tenant } = await live<ResponseTimes>("response-times");
          return [tenant.chatrooms, tenant.wait.count, tenant.firstResponse.count];
        },
        { timeout: 60_000, message: "Tinybird's figures for the three conversations" },
      )
      .toEqual([3, 1, 1]);
  });

  test.afterAll(() => {
    for (const socket of seeded?.sockets ?? []) socket.close();
  });

  test("the live page shows today's figures as the API has them, and refreshes while open", async ({
    page,
  }) => {
    const asked: string[] = [];
    page.on("request", (request) => {
      if (request.url().includes("/api/analytics/live/")) asked.push(request.url());
    });
    await page.clock.install();
    await signIn(page, seeded.email, seeded.password);
    await page.getByRole("link", { name: "Analytics" }).click();
    await page.getByRole("link", { name: "Live figures" }).click();
    await expect(page).toHaveURL(/\/console\/analytics\/live$/);
    await expect(page.getByRole("link", { name: "Live figures" })).toHaveAttribute("aria-current", "page");

    const totals = page.locator(".totals");
    await expect(totals).toContainText("Chatrooms opened3");
    await expect(totals).toContainText("Answered by an agent1");
    await expect(totals).toContainText("Messages from visitors3");
    await expect(totals).toContainText("Messages from agents1");

    const times = await live<ResponseTimes>("response-times");
    const table = (name: string) => page.getByRole("table", { name, exact: true });
    const { wait, firstResponse } = times.tenant;
    await expect
      .poll(() => cells(table("Whole team")))
      .toEqual([
        ["Wait for an agent", count(wait.count), duration(wait.medianSecs), duration(wait.p90Secs)],
        [
          "First response",
          count(firstResponse.count),
          duration(firstResponse.medianSecs),
          duration(firstResponse.p90Secs),
        ],
      ]);
    expect(times.chatbots.map((c) => c.name)).toEqual([seeded.botName]);
    expect(await cells(table("Per chatbot"))).toEqual(times.chatbots.map(row));
    expect(times.agents.map((a) => a.name)).toEqual(["Ada"]);
    expect(await cells(table("Per agent"))).toEqual(times.agents.map(row));
    await expect(table("Per chatbot")).toContainText(seeded.botName);
    await expect(table("Per agent").getByRole("row", { name: /^Ada 1 1 / })).toBeVisible();

    // The distribution's bands and the browsers, as the API answers them.
    const { bands } = await live<{
      bands: { lowerSecs: number; upperSecs?: number | null; waits: number; firstResponses: number }[];
    }>("response-time-distribution");
    expect(await cells(table("How long visitors waited, today"))).toEqual(
      bands.map((b) => [band(b.lowerSecs, b.upperSecs), count(b.waits), count(b.firstResponses)]),
    );
    expect(bands.map((b) => band(b.lowerSecs, b.upperSecs))).toEqual([
      "under 15 s",
      "15–30 s",
      "30 s–1 min",
      "1–2 min",
      "2–5 min",
      "5–10 min",
      "10 min or more",
    ]);
    const { browsers } = await live<{ browsers: { browser: string; os: string; chatrooms: number }[] }>(
      "browsers",
    );
    expect(browsers).toEqual([
      { browser: "Chrome", os: "Windows", chatrooms: 2 },
      { browser: "Firefox", os: "Linux", chatrooms: 1 },
    ]);
    expect(await cells(table("Chatrooms by browser and system, today"))).toEqual([
      ["Chrome", "Windows", "2", "67%"],
      ["Firefox", "Linux", "1", "33%"],
    ]);
    // The last 3 hours per minute: the three chatrooms are in them.
    const perMinute = await cells(table("Chatrooms opened per minute, last 3 hours"));
    expect(perMinute.reduce((sum, [, n]) => sum + Number(n), 0)).toBe(3);

    await expect(page.locator(".plot canvas")).toHaveCount(3);
    await screenshot(page, "live-1-figures");
    await page.locator("#response-title").evaluate((title) => title.scrollIntoView());
    await screenshot(page, "live-2-response-times");
    await page.locator("#distribution-title").evaluate((title) => title.scrollIntoView());
    await screenshot(page, "live-3-distribution-and-browsers");
    await noSeriousViolations(page, "the live page");

    // 15 seconds on, the page asks again and says when.
    const updated = page.getByText(/^Updated \d\d:\d\d:\d\d$/);
    const before = await updated.textContent();
    const first = asked.length;
    await page.clock.fastForward(15_000);
    await expect(updated).not.toHaveText(before ?? "");
    expect(asked.length).toBe(first + 4);

    // While the tab is hidden nothing is asked; shown again, the page refreshes at once.
    const setHidden = (hidden: boolean) =>
      page.evaluate((hidden) => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);
    await setHidden(true);
    const hidden = asked.length;
    await page.clock.fastForward(60_000);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    expect(asked.length).toBe(hidden);
    const beforeShown = await updated.textContent();
    await setHidden(false);
    await expect(updated).not.toHaveText(beforeShown ?? "");
    expect(asked.length).toBe(hidden + 4);

    // The network fails under a refresh: the figures stay, and the page says it tries again.
    await page.route("**/api/analytics/live/**", (route) => route.abort("internetdisconnected"));
    await page.clock.fastForward(15_000);
    await expect(page.getByRole("alert")).toContainText("The refresh failed:");
    await expect(page.getByRole("alert")).toContainText("Trying again every 15 seconds.");
    await expect(totals).toContainText("Chatrooms opened3");
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "live-5-refresh-failed");
    await page.unrouteAll();

    // Once the page is left, nothing more is asked.
    await page.getByRole("link", { name: "Usage reports" }).click();
    await expect(page.getByRole("heading", { name: "Usage reports" })).toBeVisible();
    const left = asked.length;
    await page.clock.fastForward(60_000);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    expect(asked.length).toBe(left);
  });
});

/** Signs a team up on the Parley at `base` and signs its admin in to that console. */
async function signUpAt(page: Page, base: string) {
  const unique = Math.random().toString(36).slice(2, 10);
  const email = `ada-${unique}@shop.test`;
  const password = `a long passphrase ${unique}`;
  const response = await fetch(`${base}/api/tenant/tenants`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      tenantName: `Shop ${unique}`,
      adminName: "Ada",
      adminEmail: email,
      adminPassword: password,
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  await page.goto(`${base}/console/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Console" })).toBeVisible();
}

test("without Tinybird the page says what to set, and where the day reports are", async ({ page }) => {
  test.skip(!WITHOUT_TINYBIRD, "PARLEY_URL_WITHOUT_TINYBIRD names no Parley without Tinybird");
  await signUpAt(page, WITHOUT_TINYBIRD);
  await page.goto(`${WITHOUT_TINYBIRD}/console/analytics/live`);
  const panel = page.getByRole("region", { name: "Live figures need Tinybird" });
  await expect(panel).toBeVisible();
  await expect(panel).toContainText("Real-time analytics come from Tinybird");
  for (const setting of ["PARLEY_TINYBIRD_TOKEN", "PARLEY_TINYBIRD_READ_TOKEN", "PARLEY_TINYBIRD_URL"])
    await expect(panel).toContainText(setting);
  await expect(panel).toContainText("infra/tinybird/README.md");
  await expect(page.locator(".plot")).toHaveCount(0);
  await screenshot(page, "live-4-without-tinybird");
  await noSeriousViolations(page, "the live page without Tinybird");
  await panel.getByRole("link", { name: "Usage reports" }).click();
  await expect(page).toHaveURL(/\/console\/analytics\/reports$/);
});
