// The chatbots page's routing setting, as an admin uses it: a new chatbot is manual (agents pick
// from the queue); made automatic with its offer time, the API holds what the form says and the
// page shows it again after a reload; an offer time out of bounds is refused in words next to its
// field, by the browser and by the server; back to manual, the offer time is kept.

import { expect, type Page, test } from "@playwright/test";
import { api, noSeriousViolations, screenshot, shopOrigin, signUp } from "../../tests/support";

test.use({ viewport: { width: 1280, height: 1000 } });

interface Routing {
  mode: string;
  offerSeconds: number;
}

/** A screenshot of the whole page, from its top (a tall window for the time of it). */
async function wholePage(page: Page, name: string) {
  const size = page.viewportSize() ?? { width: 1280, height: 1000 };
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, name);
  await page.setViewportSize(size);
}

test("an admin makes a chatbot's conversations offered automatically, with an offer time", async ({
  page,
}) => {
  const admin = await signUp(page);
  const { accessToken } = await api<{ accessToken: string }>("POST", "/api/tenant/auth/login", {
    email: admin.email,
    password: admin.password,
  });
  const routingOf = async () => {
    const bots = await api<{ name: string; routing: Routing }[]>("GET", "/api/chatbots/chatbots", undefined, {
      token: accessToken,
    });
    return bots.find((b) => b.name === "Shop support")?.routing;
  };

  await page.getByRole("link", { name: "Chatbots" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Shop support");
  await page.getByLabel("Allowed websites").fill(await shopOrigin());
  const routing = page.getByRole("group", { name: "Assigning conversations" });
  const manual = routing.getByRole("radio", { name: "Manual" });
  const automatic = routing.getByRole("radio", { name: "Automatic" });
  const offer = page.getByLabel("Time to accept an offer (seconds)");
  // New chatbots are manual: no offer time to set.
  await expect(manual).toBeChecked();
  await expect(offer).toHaveCount(0);

  await automatic.check();
  await expect(offer).toHaveValue("30");
  await offer.fill("45");
  await page.getByRole("button", { name: "Create chatbot" }).click();
  await page.getByRole("button", { name: "I've saved it" }).click();
  await expect.poll(routingOf).toEqual({ mode: "automatic", offerSeconds: 45 });
  await wholePage(page, "routing-setting-1-automatic");
  await noSeriousViolations(page, "the chatbots page with automatic routing");

  // After a reload, the page shows what the API holds.
  await page.reload();
  await page.getByRole("button", { name: "Edit Shop support" }).click();
  await expect(automatic).toBeChecked();
  await expect(offer).toHaveValue("45");

  // Out of bounds: the browser says so before sending anything.
  await offer.fill("3");
  await page.getByRole("button", { name: "Save changes" }).click();
  expect(await offer.evaluate((input) => (input as HTMLInputElement).validity.rangeUnderflow)).toBe(true);
  await expect.poll(routingOf).toEqual({ mode: "automatic", offerSeconds: 45 });
  // And when the browser's check is out of the way, the server refuses it: said next to the field.
  await offer.evaluate((input) => input.removeAttribute("max"));
  await offer.fill("400");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Choose a number of seconds from 5 to 300.")).toBeVisible();
  await expect(offer).toHaveAttribute("aria-invalid", "true");
  await screenshot(page, "routing-setting-2-refused");
  await expect.poll(routingOf).toEqual({ mode: "automatic", offerSeconds: 45 });

  await offer.fill("120");
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Shop support's changes are saved.")).toBeVisible();
  await expect.poll(routingOf).toEqual({ mode: "automatic", offerSeconds: 120 });

  // Back to manual: agents pick from the queue again, and the offer time waits for next time.
  await manual.check();
  await expect(offer).toHaveCount(0);
  await page.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByText("Shop support's changes are saved.")).toBeVisible();
  await expect.poll(routingOf).toEqual({ mode: "manual", offerSeconds: 120 });
  await automatic.check();
  await expect(offer).toHaveValue("120");
});
