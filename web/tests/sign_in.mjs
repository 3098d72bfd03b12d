// Headless check of the reference web app: sign in as the demo district admin, read the dashboard, save a screenshot.
// node tests/sign_in.mjs <gateway url> <screenshot path>   (CHROMIUM: the browser binary, default /usr/bin/chromium)
import { chromium } from "playwright-core";

const [baseUrl, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(baseUrl + "/");
  await page.waitForSelector("#sign-in");
  await page.selectOption("#role", "district_admin");
  await page.fill("#district", process.env.K12_DISTRICT || "096088");
  await page.click("#sign-in");
  await page.waitForSelector("[data-testid=score]");
  await page.waitForSelector("#score-history");
  const result = {
    district: (await page.textContent("#district-name")).trim(),
    score: (await page.textContent("[data-testid=score]")).trim(),
    charts: await page.locator("canvas").count(),
    drawn: await page.evaluate(() => Object.values(window.Chart.instances).filter((c) => c.width > 0 && c.data.datasets.some((d) => d.data.some((v) => v !== null))).length),
    goals: await page.locator("section.goal").count(),
    goal_actuals: await page.evaluate(() => Object.values(window.Chart.instances).filter((c) => c.canvas.id.startsWith("goal-")
      && (c.data.datasets.find((d) => d.label === "Actual")?.data || []).some((v) => v !== null)).length),
  };
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.click("a[href='#/actions']");
  await page.waitForSelector("h1:text('My actions')");
  result.my_actions = await page.locator("main tr").count();
  await page.click("a[href='#/dashboard']");
  await page.waitForSelector("[data-testid=score]");
  const meetings = page.locator("a[href^='#/meetings/']");
  if (await meetings.count()) {
    await meetings.first().click();
    await page.waitForSelector("h2:text('Agenda')");
    result.room = (await page.textContent("h1")).trim();
  }
  result.errors = errors;
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
