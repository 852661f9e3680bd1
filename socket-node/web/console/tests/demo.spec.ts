// A person's first minute with scripts/dev: the demo shop's widget, answered from the console
// with the sign-in the demo page shows.

import { expect, test } from "@playwright/test";
import { PARLEY_URL, widget } from "../../tests/support";

test("the demo shop's visitor is answered from the console", async ({ browser }) => {
  const shop = await (await browser.newContext()).newPage();
  await shop.goto(`${PARLEY_URL}/demo`);
  const email = (await shop.locator("#demo-email").textContent()) ?? "";
  const password = (await shop.locator("#demo-password").textContent()) ?? "";

  const agent = await (await browser.newContext()).newPage();
  await agent.goto(`${PARLEY_URL}/console/login`);
  await agent.getByLabel("Email").fill(email);
  await agent.getByLabel("Password").fill(password);
  await agent.getByRole("button", { name: "Sign in" }).click();
  await expect(agent.getByRole("heading", { name: /^Waiting/ })).toBeVisible();

  const unique = Math.random().toString(36).slice(2, 8);
  const name = `Demo visitor ${unique}`;
  await widget(shop).getByRole("button").first().click();
  await widget(shop).getByLabel("Name").fill(name);
  await widget(shop).getByLabel("Email", { exact: true }).fill(`demo-${unique}@visitor.test`);
  await widget(shop).getByRole("button", { name: "Start chat" }).click();

  await agent.getByRole("button", { name: `Join ${name}` }).click();
  const composer = agent.getByLabel("Message", { exact: true });
  await composer.fill("Hello from the console!");
  await composer.press("Enter");
  await expect(widget(shop).getByRole("log")).toContainText("Hello from the console!");
});
