// The console's admin pages, as an admin and an agent use them: a chatbot made in the console
// whose snippet a visitor's chat comes through; an invitation and a password reset followed from
// their emails to the inbox; an agent's permissions, roles and the team's settings edited; and an
// agent without the admin permissions, who sees no admin page and whose forged requests are refused.

import { type Browser, expect, type Page, test } from "@playwright/test";
import {
  noSeriousViolations,
  openShopWithSnippet,
  PARLEY_URL,
  screenshot,
  shopOrigin,
  signUp,
  widget,
} from "../../tests/support";

test.use({ permissions: ["clipboard-read", "clipboard-write"], viewport: { width: 1280, height: 900 } });

/** A screenshot of the whole page, from its top (a tall window for the time of it). */
async function wholePage(page: Page, name: string) {
  const size = page.viewportSize() ?? { width: 1280, height: 900 };
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, name);
  await page.setViewportSize(size);
}

const unique = () => Math.random().toString(36).slice(2, 10);

/**
 * The link in the newest email to `address` that leads to this page, as a path on Parley. (The
 * mailbox of scripts/dev on the real services is Mailpit's, whose emails carry no `kind`.)
 */
async function linkInEmail(address: string, kind: "invitation" | "password_reset"): Promise<string> {
  const page = kind === "invitation" ? "accept-invitation" : "reset-password";
  const pattern = new RegExp(`/console/${page}#token=[^\\s"<]+`);
  let link = "";
  await expect
    .poll(async () => {
      const mail = (await fetch(`${PARLEY_URL}/dev/mail/messages`).then((r) => r.json())) as {
        to: unknown;
        text: string;
      }[];
      const found = mail.find((m) => JSON.stringify(m.to).includes(address) && pattern.test(m.text));
      link = pattern.exec(found?.text ?? "")?.[0] ?? "";
      return link;
    }, `an email with a ${page} link to ${address}`)
    .not.toBe("");
  return link;
}

/** Follows an email's link in a browser of its own, sets the password, and lands in the inbox. */
async function followLink(browser: Browser, link: string, email: string, password: string, button: string) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${PARLEY_URL}${link}`);
  await expect(page).not.toHaveURL(/token=/); // the token leaves the address at once
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("New password").fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: button }).click();
  await expect(page.getByText("Nobody is waiting.")).toBeVisible();
  await expect(page).toHaveURL(/\/console\/$/);
  return page;
}

test("an admin makes a chatbot in the console, and a visitor on the snippet's page reaches the inbox", async ({
  page,
  browser,
}) => {
  await signUp(page);
  await page.getByRole("link", { name: "Chatbots" }).click();
  await expect(page.getByRole("heading", { name: "Chatbots", level: 1 })).toBeVisible();

  await page.getByLabel("Name", { exact: true }).fill("Shop support");
  await page.getByLabel("Allowed websites").fill(`not a site\n${await shopOrigin()}`);
  await page.getByLabel("Colour").fill("#0f766e");
  await page.getByLabel("Position").selectOption("bottom-left");
  await page.getByLabel("Launcher text").fill("Talk to Olive");
  await page.getByRole("textbox", { name: "Greeting" }).fill("Hello from the shop!");
  // The preview follows the form as it is typed.
  const preview = page.getByRole("img", { name: /Talk to Olive button at the bottom left/ });
  await expect(preview).toBeVisible();
  await expect(preview).toContainText("Hello from the shop!");

  // A site that is not one is refused next to its field, in words.
  await page.getByRole("button", { name: "Create chatbot" }).click();
  await expect(page.getByText("“not a site” isn't accepted.")).toBeVisible();
  await page.getByLabel("Allowed websites").fill(await shopOrigin());
  await page.getByRole("button", { name: "Create chatbot" }).click();

  // The key and the secret, once, with a warning.
  await expect(page.getByRole("heading", { name: "Copy it now: it won't be shown again" })).toBeVisible();
  const key = await page.getByLabel("API key").inputValue();
  expect(key).toMatch(/^parley_pk_[0-9a-z]{72}$/);
  await expect(page.getByLabel("Identity secret")).toHaveValue(/^parley_is_/);
  await wholePage(page, "admin-chatbots-made");
  await noSeriousViolations(page, "the chatbots page");

  await page.getByRole("button", { name: "Copy snippet", exact: true }).click();
  await expect(page.getByText("Copied")).toBeVisible();
  const snippet = await page.evaluate(() => navigator.clipboard.readText());
  expect(snippet).toContain(key);
  // Never in the address nor the browser's storage.
  expect(page.url()).not.toContain(key);
  expect(await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).not.toContain(
    key,
  );

  // Once dismissed, it is gone; the snippet shown from then on masks the key.
  await page.getByRole("button", { name: "I've saved it" }).click();
  await expect(page.getByRole("heading", { name: "Copy it now: it won't be shown again" })).toHaveCount(0);
  await expect(page.getByLabel("Paste before </body> on your pages")).toHaveValue(/parley_pk_…/);
  const shown = await page.evaluate(() =>
    Array.from(document.querySelectorAll("input, textarea"), (e) => (e as HTMLInputElement).value).join(" "),
  );
  expect(shown).not.toContain(key);
  await wholePage(page, "admin-chatbots-edit");

  // A visitor on the shop's page with the pasted snippet.
  const visitor = await (await browser.newContext()).newPage();
  await openShopWithSnippet(visitor, snippet);
  await widget(visitor).getByRole("button", { name: "Talk to Olive" }).click();
  await widget(visitor).getByLabel("Name").fill("Grace");
  await widget(visitor).getByLabel("Email", { exact: true }).fill(`grace-${unique()}@visitor.test`);
  await widget(visitor).getByRole("button", { name: "Start chat" }).click();
  await expect(widget(visitor).getByRole("heading")).toHaveText("Shop support");

  await page.getByRole("link", { name: "Inbox" }).click();
  await expect(page.getByRole("button", { name: "Join Grace" })).toBeVisible();
});

test("an invited agent follows the email's link, chooses a password and lands in the inbox", async ({
  page,
  browser,
}) => {
  await signUp(page);
  await page.getByRole("link", { name: "Agents" }).click();
  const email = `bea-${unique()}@shop.test`;
  await page.getByLabel("Name").fill("Bea");
  await page.getByLabel("Email").fill(email);
  await expect(page.getByRole("checkbox", { name: "agent" })).toBeChecked();
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByText(`Invitation sent to ${email}.`)).toBeVisible();
  await expect(page.getByRole("row", { name: /Bea/ })).toContainText("Invited");
  await wholePage(page, "admin-agents");
  await noSeriousViolations(page, "the agents page");

  // The same address again is refused next to the field.
  await page.getByLabel("Name").fill("Bea again");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByText("Someone already has a Parley account with this email.")).toBeVisible();
  await expect(page.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");

  const link = await linkInEmail(email, "invitation");
  expect(link).toMatch(/^\/console\/accept-invitation#token=/);
  const agent = await followLink(
    browser,
    link,
    email,
    `bea's own passphrase ${unique()}`,
    "Join and sign in",
  );
  await expect(agent.getByText("Bea · Shop")).toBeVisible();
  await page.reload();
  await expect(page.getByRole("row", { name: /Bea/ })).toContainText("Active");
});

test("a forgotten password: the email's link sets a new one and signs in", async ({ page, browser }) => {
  const admin = await signUp(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(admin.email);
  await page.getByRole("button", { name: "Send me a link" }).click();
  await expect(page.getByText("an email with a link to set a new password is on its way")).toBeVisible();

  const link = await linkInEmail(admin.email, "password_reset");
  expect(link).toMatch(/^\/console\/reset-password#token=/);
  const password = `a brand new passphrase ${unique()}`;
  const again = await followLink(browser, link, admin.email, password, "Set password and sign in");
  await expect(again.getByRole("link", { name: "Agents" })).toBeVisible();
  // The old password no longer works; the new one does.
  await page.goto(`${PARLEY_URL}/console/login`);
  await page.getByLabel("Email").fill(admin.email);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByText("That email and password don't match an account.")).toBeVisible();
});

test("an admin edits an agent's permissions, the roles and the team's settings", async ({ page }) => {
  await signUp(page);
  await page.getByRole("link", { name: "Agents" }).click();
  const email = `cy-${unique()}@shop.test`;
  await page.getByLabel("Name").fill("Cy");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByText(`Invitation sent to ${email}.`)).toBeVisible();

  // The last admin cannot lose the role: said next to the roles.
  await page.getByRole("button", { name: "Edit Olive" }).click();
  await page.getByRole("checkbox", { name: "admin" }).uncheck();
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(
    page.getByText("This is your team's last admin. Make someone else an admin first."),
  ).toBeVisible();

  // Cy: the effective permissions follow the grants and denies as they are clicked.
  await page.getByRole("button", { name: "Edit Cy" }).click();
  const effective = page.getByText(/^Effective permissions:/);
  await expect(effective).toHaveText("Effective permissions: chatrooms:join");
  await page.getByRole("radio", { name: "chatrooms:moderate: grant" }).check();
  await expect(effective).toHaveText("Effective permissions: chatrooms:join, chatrooms:moderate");
  await page.getByRole("radio", { name: "chatrooms:join: deny" }).check();
  await expect(effective).toHaveText("Effective permissions: chatrooms:moderate");
  await page.getByLabel("Most conversations at once").fill("3");
  await page.getByLabel("Allowed IP addresses").fill("10.0.0.0/8\nthe office");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("“the office” isn't accepted.")).toBeVisible();
  await page.getByLabel("Allowed IP addresses").fill("10.0.0.0/8\n203.0.113.7");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Cy's changes are saved.")).toBeVisible();
  await wholePage(page, "admin-agents-edit");
  await page.reload();
  await page.getByRole("button", { name: "Edit Cy" }).click();
  await expect(page.getByRole("radio", { name: "chatrooms:moderate: grant" })).toBeChecked();
  await expect(page.getByLabel("Allowed IP addresses")).toHaveValue("10.0.0.0/8\n203.0.113.7");
  await expect(page.getByLabel("Most conversations at once")).toHaveValue("3");

  // Disable, then delete with a confirmation.
  await page.getByRole("button", { name: "Disable Cy" }).click();
  await expect(page.getByRole("row", { name: /Cy/ })).toContainText("Disabled");
  await page.getByRole("button", { name: "Delete Cy" }).click();
  await page.getByRole("button", { name: "Delete for good" }).click();
  await expect(page.getByText("Cy was deleted.")).toBeVisible();
  await expect(page.getByRole("row", { name: /Cy/ })).toHaveCount(0);

  // Roles: the matrix; the admin role read-only; a new role given a permission, renamed, deleted.
  await page.getByRole("link", { name: "Roles" }).click();
  await expect(page.getByRole("checkbox", { name: "admin: analytics:view" })).toBeDisabled();
  await expect(page.getByRole("checkbox", { name: "agent: chatrooms:join" })).toBeChecked();
  await page.getByLabel("Role name").fill("agent");
  await page.getByRole("button", { name: "Create role" }).click();
  await expect(page.getByText("Your team already has a role with this name. Choose another.")).toBeVisible();
  await page.getByLabel("Role name").fill("supervisor");
  await page.getByRole("button", { name: "Create role" }).click();
  await page.getByRole("checkbox", { name: "supervisor: chatrooms:moderate" }).check();
  await expect(page.getByText("supervisor: chatrooms:moderate given.")).toBeVisible();
  await page.reload();
  await expect(page.getByRole("checkbox", { name: "supervisor: chatrooms:moderate" })).toBeChecked();
  await wholePage(page, "admin-roles");
  await page.getByRole("button", { name: "Rename supervisor" }).click();
  await page.getByLabel("New name for supervisor").fill("lead");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByRole("checkbox", { name: "lead: chatrooms:moderate" })).toBeChecked();
  await page.getByRole("button", { name: "Delete lead" }).click();
  await page.getByRole("button", { name: "Delete lead for good" }).click();
  await expect(page.getByText("The role lead was deleted.")).toBeVisible();
  await noSeriousViolations(page, "the roles page");

  // Settings: the team's name, shown at once in the header.
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Team name").fill("Olive's Shop");
  await page.getByLabel("Email sender name").fill("Olive at the Shop");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByText("Settings saved.")).toBeVisible();
  await expect(page.getByText("Olive · Olive's Shop")).toBeVisible();
  await wholePage(page, "admin-settings");
  await noSeriousViolations(page, "the settings page");
});

test("an agent sees no admin page, and the API refuses their forged requests", async ({ page, browser }) => {
  await signUp(page);
  await page.getByRole("link", { name: "Agents" }).click();
  const email = `dee-${unique()}@shop.test`;
  await page.getByLabel("Name").fill("Dee");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByText(`Invitation sent to ${email}.`)).toBeVisible();
  const agent = await followLink(
    browser,
    await linkInEmail(email, "invitation"),
    email,
    `dee's passphrase ${unique()}`,
    "Join and sign in",
  );

  const nav = agent.getByRole("navigation", { name: "Console" });
  await expect(nav.getByRole("link", { name: "Inbox" })).toBeVisible();
  for (const name of ["Agents", "Roles", "Chatbots", "Blocked visitors", "Settings"])
    await expect(nav.getByRole("link", { name })).toHaveCount(0);

  // Their own session, used by hand: every admin route answers 403 permission_denied.
  const answers = await agent.evaluate(async () => {
    const tokens = await fetch("/api/tenant/auth/refresh", {
      method: "POST",
      headers: { "x-parley-refresh": "cookie", "content-type": "application/json" },
      body: "{}",
    }).then((r) => r.json());
    const authorization = `Bearer ${tokens.accessToken}`;
    const json = { authorization, "content-type": "application/json" };
    const calls: [string, string, unknown?][] = [
      ["GET", "/api/tenant/users"],
      ["POST", "/api/tenant/users", { name: "Eve", email: "eve@evil.test", roleIds: [] }],
      ["GET", "/api/tenant/roles"],
      ["PATCH", "/api/tenant/tenant", { name: "Taken" }],
      ["GET", "/api/chatbots/chatbots"],
      ["GET", "/api/chatbots/blocks"],
    ];
    return Promise.all(
      calls.map(async ([method, url, body]) => {
        const response = await fetch(url, {
          method,
          headers: body ? json : { authorization },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return `${method} ${url} ${response.status} ${(await response.json()).code}`;
      }),
    );
  });
  expect(answers).toEqual([
    "GET /api/tenant/users 403 permission_denied",
    "POST /api/tenant/users 403 permission_denied",
    "GET /api/tenant/roles 403 permission_denied",
    "PATCH /api/tenant/tenant 403 permission_denied",
    "GET /api/chatbots/chatbots 403 permission_denied",
    "GET /api/chatbots/blocks 403 permission_denied",
  ]);

  // Typing an admin page's address shows the refusal in words, nothing else.
  await agent.goto(`${PARLEY_URL}/console/agents`);
  await expect(agent.getByText("You don't have permission to do that.")).toBeVisible();
  await expect(agent.getByRole("button", { name: "Send invitation" })).toHaveCount(0);
});
