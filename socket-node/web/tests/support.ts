// What the widget's and the console's browser tests share: Parley's APIs called as a client
// does, a tenant and chatbot made through them, the tenant's site (a small HTTP server of the
// test's own, on an origin other than Parley's), an agent speaking the WebSocket protocol,
// signing in to the console, and what a person would notice (screenshots, the browser's
// console, axe-core's serious findings).

import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";
import WebSocket from "ws";

export const PARLEY_URL = process.env.PARLEY_URL ?? "";
if (!PARLEY_URL) throw new Error("PARLEY_URL is not set: run the browser tests through scripts/test");

/** The tenant's site: its pages by path. */
const pages = new Map<string, string>();
const site = createServer((request, response) => {
  const page = pages.get(request.url ?? "");
  response.writeHead(page ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
  response.end(page ?? "not found");
});
const listening = new Promise<number>((resolve) =>
  site.listen(0, "127.0.0.1", () => resolve((site.address() as AddressInfo).port)),
);
site.unref();

/** The tenant's site, on an origin of its own as in production (Parley is another). */
export const shopOrigin = async () => `http://127.0.0.1:${await listening}`;
/** The same site under another name: an origin the chatbot does not allow. */
export const otherOrigin = async () => `http://localhost:${await listening}`;

export interface Chatbot {
  tenantId: string;
  chatbotId: string;
  apiKey: string;
  identitySecret: string;
  accessToken: string;
  agentName: string;
}

/** Calls Parley's HTTP API; anything but a 2xx answer throws with the status and body. */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<T> {
  const response = await fetch(`${PARLEY_URL}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A new tenant whose admin is the agent, and a chatbot allowing the shop's origin. */
export async function newChatbot(
  options: { settings?: Record<string, string>; enforceIdentity?: boolean } = {},
): Promise<Chatbot> {
  const unique = randomBytes(6).toString("hex");
  const agentName = "Ada";
  const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
    "POST",
    "/api/tenant/tenants",
    {
      tenantName: `Shop ${unique}`,
      adminName: agentName,
      adminEmail: `ada-${unique}@shop.test`,
      adminPassword: `correct horse ${unique} battery`,
    },
  );
  const created = await api<{ chatbot: { id: string }; apiKey: string; identitySecret: string }>(
    "POST",
    "/api/chatbots/chatbots",
    {
      name: "Shop support",
      allowedOrigins: [await shopOrigin()],
      settings: { launcherText: "Chat with us", colour: "#0f766e", ...options.settings },
      ...(options.enforceIdentity ? { enforceIdentity: true } : {}),
    },
    { token: signup.tokens.accessToken },
  );
  return {
    tenantId: signup.tenant.id,
    chatbotId: created.chatbot.id,
    apiKey: created.apiKey,
    identitySecret: created.identitySecret,
    accessToken: signup.tokens.accessToken,
    agentName,
  };
}

/**
 * A chatbot allowing the shop's origin, made through the API by the tenant's admin who signs in
 * with `email` and `password` (an owner who signed up in the console, say).
 */
export async function chatbotOf(email: string, password: string, agentName: string): Promise<Chatbot> {
  const { accessToken } = await api<{ accessToken: string }>("POST", "/api/tenant/auth/login", {
    email,
    password,
  });
  const me = await api<{ tenant: { id: string } }>("GET", "/api/tenant/me", undefined, {
    token: accessToken,
  });
  const created = await api<{ chatbot: { id: string }; apiKey: string; identitySecret: string }>(
    "POST",
    "/api/chatbots/chatbots",
    { name: "Shop support", allowedOrigins: [await shopOrigin()] },
    { token: accessToken },
  );
  return {
    tenantId: me.tenant.id,
    chatbotId: created.chatbot.id,
    apiKey: created.apiKey,
    identitySecret: created.identitySecret,
    accessToken,
    agentName,
  };
}

/** A teammate of the tenant: invited with the `agent` role, password set from the invitation email. */
export interface Teammate {
  name: string;
  email: string;
  password: string;
  /** An access token of theirs, from signing in through the API. */
  accessToken: string;
}

export async function inviteAgent(adminToken: string, name: string): Promise<Teammate> {
  const email = `${name.toLowerCase()}-${randomBytes(6).toString("hex")}@team.test`;
  const password = `a long passphrase ${randomBytes(6).toString("hex")}`;
  const roles = await api<{ id: string; name: string }[]>("GET", "/api/tenant/roles", undefined, {
    token: adminToken,
  });
  const roleIds = [roles.find((r) => r.name === "agent")?.id];
  await api("POST", "/api/tenant/users", { name, email, roleIds }, { token: adminToken });
  let link = "";
  await expect
    .poll(
      async () => {
        const mails = await api<{ to: unknown; text: string }[]>("GET", "/dev/mail/messages");
        const mail = mails.find((m) => JSON.stringify(m.to).includes(email));
        link = /https?:\/\/\S+\/console\/accept-invitation#token=\S+/.exec(mail?.text ?? "")?.[0] ?? "";
        return link;
      },
      { message: `the invitation email to ${name} arrives`, timeout: 30_000 },
    )
    .not.toBe("");
  const token = new URL(link).hash.replace("#token=", "");
  await api("POST", "/api/tenant/auth/password-reset/confirm", { token, password });
  const login = await api<{ accessToken: string }>("POST", "/api/tenant/auth/login", { email, password });
  return { name, email, password, accessToken: login.accessToken };
}

export async function revokeKey(bot: Chatbot) {
  await api("POST", `/api/chatbots/chatbots/${bot.chatbotId}/api-key/revoke`, undefined, {
    token: bot.accessToken,
  });
}

export const sign = (secret: string, email: string) =>
  createHmac("sha256", secret).update(email).digest("hex");

/**
 * Opens the tenant's page at `origin` with the embed snippet of `bot`. `script` runs on the page
 * after the snippet, before the loader arrives (so `Parley(...)` calls are queued by its stub).
 */
export async function openShop(page: Page, bot: Chatbot, options: { origin?: string; script?: string } = {}) {
  const snippet = await fetch(`${PARLEY_URL}/api/chatbots/chatbots/${bot.chatbotId}/snippet`, {
    headers: { authorization: `Bearer ${bot.accessToken}` },
  }).then((r) => r.json() as Promise<{ html: string; apiKeyPlaceholder: string }>);
  await openShopWithSnippet(page, snippet.html.replace(snippet.apiKeyPlaceholder, bot.apiKey), options);
}

/** Opens the tenant's page with `html` (an embed snippet as a person would paste it). */
export async function openShopWithSnippet(
  page: Page,
  html: string,
  options: { origin?: string; script?: string } = {},
) {
  const origin = options.origin ?? (await shopOrigin());
  const path = `/${randomBytes(6).toString("hex")}`;
  pages.set(
    path,
    `<!doctype html><html lang="en"><head><title>Shop</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body{font:16px Georgia,serif;margin:40px;color:#222} button{all:unset} *{box-sizing:content-box!important;font-size:30px!important}</style>
    </head><body><h1>The Shop</h1><p>Hand-made things, shipped worldwide.</p>
    ${html}<script>${options.script ?? ""}</script></body></html>`,
  );
  await page.goto(`${origin}${path}`);
}

/** The widget's shadow root, as Playwright reaches it (its locators pierce open shadow roots). */
export const widget = (page: Page) => page.locator("[data-parley-widget]");

/** Signs a new team up through the console; its admin lands in the inbox. */
export async function signUp(page: Page) {
  const id = randomBytes(6).toString("hex");
  const admin = { email: `owner-${id}@shop.test`, password: `a long passphrase ${id}`, team: `Shop ${id}` };
  await page.goto(`${PARLEY_URL}/console/signup`);
  await page.getByLabel("Company or team name").fill(admin.team);
  await page.getByLabel("Your name").fill("Olive");
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Nobody is waiting.")).toBeVisible();
  return admin;
}

/** The tenant page's script that identifies the visitor (`signature`: see `sign`) and opens the widget. */
export const identify = (name: string, email: string, signature: string) =>
  `Parley('identify', ${JSON.stringify({ name, email, signature })}); Parley('open');`;

/** Signs in at the console's sign-in page and waits for the console. */
export async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${PARLEY_URL}/console/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("navigation", { name: "Console" })).toBeVisible();
}

/** Fills the widget's open pre-chat form and waits for the conversation to show. */
export async function startChat(page: Page, name: string, email: string) {
  await widget(page).getByLabel("Name").fill(name);
  await widget(page).getByLabel("Email", { exact: true }).fill(email);
  await widget(page).getByRole("button", { name: "Start chat" }).click();
  await expect(widget(page).getByRole("log").locator("li")).not.toHaveCount(0);
}

/** What the page writes to the browser's console, from now on. */
export function consoleOf(page: Page): string[] {
  const lines: string[] = [];
  page.on("console", (message) => lines.push(message.text()));
  return lines;
}

/** Fails naming every serious or critical axe-core finding on the page (or within `scope`). */
export async function noSeriousViolations(page: Page, what: string, scope?: string) {
  const axe = new AxeBuilder({ page });
  const { violations } = await (scope ? axe.include(scope) : axe).analyze();
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
    `axe on ${what}`,
  ).toEqual([]);
}

export async function screenshot(page: Page, name: string) {
  const dir = process.env.PARLEY_SCREENSHOTS ?? "test-results/screenshots";
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

type Frame = { type: string; [field: string]: unknown };

/** An agent on the WebSocket, as the console will be. */
export class Agent {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Connects with the access token of `who` (a tenant's admin, or a teammate). */
  static async connect(who: { accessToken: string }): Promise<Agent> {
    const socket = new WebSocket(`${PARLEY_URL.replace(/^http/, "ws")}/v1/ws`);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const agent = new Agent(socket);
    agent.raw({ type: "auth", token: who.accessToken });
    await agent.next((f) => f.type === "ready");
    return agent;
  }

  raw(frame: Record<string, unknown>) {
    this.socket.send(JSON.stringify(frame));
  }

  /** The first frame so far, or to come, that matches. */
  async next(match: (frame: Frame) => boolean, timeoutMs = 20_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`,
        );
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** The chatroom of `email` once it waits in the queue. */
  async waiting(email: string): Promise<Record<string, unknown>> {
    const queue = await this.next(
      (f) => f.type === "queue" && (f.chatrooms as { email: string }[]).some((c) => c.email === email),
    );
    return (queue.chatrooms as Record<string, unknown>[]).find((c) => c.email === email) ?? {};
  }

  async join(chatroomId: string) {
    this.raw({ type: "join", chatroomId });
    await this.next((f) => f.type === "chatroom" && f.chatroomId === chatroomId && f.status === "active");
  }

  /** Sends and waits for the ack; a send over the rate limit goes again when the limit allows. */
  async send(chatroomId: string, message: string): Promise<number> {
    const clientMsgId = randomBytes(8).toString("hex");
    for (;;) {
      const from = this.frames.length;
      this.raw({ type: "send", chatroomId, clientMsgId, message });
      const answer = await this.next(
        (f) =>
          this.frames.indexOf(f) >= from &&
          f.clientMsgId === clientMsgId &&
          (f.type === "ack" || f.type === "error"),
      );
      if (answer.type === "ack") return answer.seq as number;
      if (answer.code !== "rate_limited") throw new Error(`send refused: ${JSON.stringify(answer)}`);
      // The server names the wait in its message; it is the protocol's instruction, not a guess.
      const seconds = Number(/(\d+) second/.exec(String(answer.message))?.[1] ?? 1);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }

  /** Every message of the chatroom this agent has: its own (acked) and those it received. */
  seqs(chatroomId: string): number[] {
    return this.frames
      .filter((f) => (f.type === "message" || f.type === "ack") && f.chatroomId === chatroomId)
      .map((f) => f.seq as number);
  }

  close() {
    this.socket.close();
  }
}
