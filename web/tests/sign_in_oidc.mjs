// Headless check of sign-in at the district's identity provider: the web app sends the browser to the provider,
// comes back with a code, exchanges it (PKCE) and shows the dashboard.  node tests/sign_in_oidc.mjs <gateway url>
import { chromium } from "playwright-core";

const [baseUrl] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-dev-shm-usage"] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(baseUrl + "/");
  await page.click("#provider-sign-in");
  await page.waitForSelector("#district-name", { timeout: 60000 });
  console.log(JSON.stringify({ who: (await page.textContent("#who")).trim(), district: (await page.textContent("#district-name")).trim(), url: page.url(), errors }));
} finally {
  await browser.close();
}
