// A signed identity from the tenant's page skips the form, and the agent sees the visitor as
// verified; a bad signature is refused, and no conversation starts.

import { expect, test } from "@playwright/test";
import { Agent, consoleOf, identify, newChatbot, openShop, sign, widget } from "../../tests/support";

test("identify with a valid signature skips the form and the agent sees 'verified'", async ({ page }) => {
  const bot = await newChatbot({ enforceIdentity: true });
  const agent = await Agent.connect(bot);
  const email = "kim@visitor.test";
  // Calls made before the loader arrives are queued by the snippet's stub.
  await openShop(page, bot, { script: identify("Kim", email, sign(bot.identitySecret, email)) });

  const log = widget(page).getByRole("log");
  await expect(log.locator("li").first()).toBeVisible();
  await expect(widget(page).getByLabel("Name")).toBeHidden();
  const room = await agent.waiting(email);
  expect(room.name).toBe("Kim");
  expect(room.identityVerified).toBe(true);
  agent.close();
});

test("identify with a bad signature is refused", async ({ page }) => {
  const bot = await newChatbot({ enforceIdentity: true });
  const lines = consoleOf(page);
  await openShop(page, bot, {
    script: identify("Eve", "eve@visitor.test", sign("not the secret", "eve@visitor.test")),
  });

  await expect(widget(page).getByRole("status")).toHaveText(
    "We couldn't confirm who you are. Please try again later.",
  );
  await expect.poll(() => lines.join("\n")).toContain("identity_invalid");
  await expect(widget(page).getByRole("log")).toBeHidden();
  // A fresh agent connection's queue holds no conversation of Eve.
  const agent = await Agent.connect(bot);
  const queue = await agent.next((f) => f.type === "queue");
  expect(JSON.stringify(queue)).not.toContain("eve@visitor.test");
  agent.close();
});
