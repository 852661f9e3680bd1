// What the browser tests share: a tenant and chatbot made through Parley's own APIs, the
// tenant's site (a small HTTP server of the test's own, on an origin other than Parley's), and
// an agent speaking the WebSocket protocol.

import { createHmac, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Page } from "@playwright/test";
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

async function api<T>(path: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`${PARLEY_URL}${path}`, {
    method: "POST",
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A new tenant whose admin is the agent, and a chatbot allowing the shop's origin. */
export async function newChatbot(
  options: { settings?: Record<string, string>; enforceIdentity?: boolean } = {},
): Promise<Chatbot> {
  const unique = randomBytes(6).toString("hex");
  const agentName = "Ada";
  const signup = await api<{ tenant: { id: string }; tokens: { accessToken: string } }>(
    "/api/tenant/tenants",
    {
      tenantName: `Shop ${unique}`,
      adminName: agentName,
      adminEmail: `ada-${unique}@shop.test`,
      adminPassword: `correct horse ${unique} battery`,
    },
  );
  const created = await api<{ chatbot: { id: string }; apiKey: string; identitySecret: string }>(
    "/api/chatbots/chatbots",
    {
      name: "Shop support",
      allowedOrigins: [await shopOrigin()],
      settings: { launcherText: "Chat with us", colour: "#0f766e", ...options.settings },
      ...(options.enforceIdentity ? { enforceIdentity: true } : {}),
    },
    signup.tokens.accessToken,
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

export async function revokeKey(bot: Chatbot) {
  await api(`/api/chatbots/chatbots/${bot.chatbotId}/api-key/revoke`, undefined, bot.accessToken);
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

  static async connect(bot: Chatbot): Promise<Agent> {
    const socket = new WebSocket(`${PARLEY_URL.replace(/^http/, "ws")}/v1/ws`);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const agent = new Agent(socket);
    agent.raw({ type: "auth", token: bot.accessToken });
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
