// The whole stack in a real browser. e2e/run.sh runs the phases in order and
// changes the stack between them (stops scoring, restarts the databases);
// state.json carries what a later phase checks.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const STATE = "results/state.json";
type State = { approvedCode?: string; uniqueName?: string; outageCode?: string; cookies?: { name: string; value: string; domain: string; path: string }[] };
const load = (): State => (existsSync(STATE) ? (JSON.parse(readFileSync(STATE, "utf8")) as State) : {});
const save = (s: State) => writeFileSync(STATE, JSON.stringify({ ...load(), ...s }, null, 2));

const ADMIN = { email: "admin@loandesk.local", password: "insecure-dev-admin-password" };
const run = Date.now().toString(36);

type Applicant = { name: string; email: string; dni: string; gender: "F" | "M" | "X"; amount: string };

async function applyInSpanish(page: Page, a: Applicant) {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Solicitar un préstamo");
  await page.getByLabel("Nombre completo").fill(a.name);
  await page.getByLabel("Correo electrónico").fill(a.email);
  await page.getByLabel(/^DNI/).fill(a.dni);
  await page.getByLabel(/Género/).selectOption(a.gender);
  await page.getByLabel(/Monto/).fill(a.amount);
  await page.getByRole("button", { name: "Enviar solicitud" }).click();
  await expect(page).toHaveURL(/\/requests\/LD-/);
}

async function trackingCode(page: Page): Promise<string> {
  return (await page.locator("code.tracking").textContent())?.trim() ?? "";
}

async function login(page: Page, who = ADMIN) {
  await passwordStep(page, who);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Solicitudes");
}

async function passwordStep(page: Page, who: { email: string; password: string }) {
  await page.goto("/admin/login");
  await page.getByLabel("Correo electrónico").fill(who.email);
  await page.getByLabel("Contraseña").fill(who.password);
  await page.getByRole("button", { name: "Ingresar" }).click();
}

/** RFC 6238 (SHA-1, 30 s, 6 digits) written here from the RFC: an oracle independent of the server's library. */
function totp(base32: string, ms: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...base32].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 30_000)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** axe-core (WCAG 2.1 A and AA) on a page state no other phase reaches. */
async function axe(page: Page, id: string) {
  const r = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  expect(r.violations.map((v) => `${v.id}: ${v.help} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`), `axe on ${id}`).toEqual([]);
}

test.describe("@main", () => {
  test("a reviewer's own account, made with `loandesk admin add`, logs in", async ({ page }) => {
    // e2e/run.sh ran the README's command and passed the password it printed.
    const password = process.env.REVIEWER_PASSWORD ?? "";
    expect(password, "REVIEWER_PASSWORD from e2e/run.sh").toMatch(/^[A-Z2-7]{26}$/);
    await login(page, { email: "e2e-reviewer@example.com", password });
    await expect(page.getByText("e2e-reviewer@example.com", { exact: true })).toBeVisible();
  });

  test("a reviewer changes their password: their other browser is logged out, the new one works", async ({ page, browser }) => {
    const reviewer = { email: "e2e-reviewer@example.com", password: process.env.REVIEWER_PASSWORD ?? "" };
    const other = await browser.newPage();
    await login(other, reviewer);
    await login(page, reviewer);
    await page.getByRole("link", { name: "Contraseña" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Cambiar la contraseña");
    const next = `una frase nueva ${run}`;
    await page.getByLabel("Contraseña actual").fill("not-my-password");
    await page.getByLabel("Contraseña nueva", { exact: true }).fill(next);
    await page.getByLabel("Repetí la contraseña nueva").fill(next);
    await page.getByRole("button", { name: "Cambiar la contraseña" }).click();
    await expect(page.locator("#pw-current-error")).toHaveText("Esa no es tu contraseña actual.");
    await expect(page.getByLabel("Contraseña actual")).toBeFocused();
    await page.getByLabel("Contraseña actual").fill(reviewer.password);
    await page.getByRole("button", { name: "Cambiar la contraseña" }).click();
    await expect(page.getByRole("status").filter({ hasText: "tu contraseña cambió" })).toBeVisible();
    // This browser goes on under its new session; the other one is out.
    await page.getByRole("banner").getByRole("link", { name: "Solicitudes" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Solicitudes");
    await other.goto("/admin");
    await expect(other).toHaveURL(/\/admin\/login$/);
    await page.getByRole("button", { name: "Salir" }).click();
    await expect(page).toHaveURL(/\/admin\/login$/);
    await page.getByLabel("Correo electrónico").fill(reviewer.email);
    await page.getByLabel("Contraseña").fill(reviewer.password);
    await page.getByRole("button", { name: "Ingresar" }).click();
    await expect(page.locator("#login-error")).toBeVisible();
    await login(page, { ...reviewer, password: next });
    await other.close();
  });

  test("a reviewer turns on two-step login, then logs in with the app's code and with a recovery code", async ({ page }) => {
    const who = { email: "e2e-mfa@example.com", password: process.env.MFA_PASSWORD ?? "" };
    expect(who.password, "MFA_PASSWORD from e2e/run.sh").toMatch(/^[A-Z2-7]{26}$/);
    const h1 = page.getByRole("heading", { level: 1 });
    await login(page, who); // optional in development: the desk opens without it
    await page.getByRole("banner").getByRole("link", { name: "Verificación en dos pasos" }).click();
    await expect(h1).toHaveText("Activar la verificación en dos pasos");
    await page.getByRole("button", { name: "Empezar" }).click();
    await expect(page.getByRole("img", { name: /Código QR/ })).toBeVisible();
    const secret = (await page.locator("code.secret").textContent())?.trim() ?? "";
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel("Código").fill("000000");
    await page.getByRole("button", { name: "Activar" }).click();
    await expect(page.locator("#mfa-code-error")).toContainText("no es correcto");
    await axe(page, "mfa-enrol-error");
    await page.getByLabel("Código").fill(totp(secret, Date.now()));
    await page.getByRole("button", { name: "Activar" }).click();
    await expect(h1).toHaveText("Tus códigos de recuperación");
    const codes = await page.getByRole("list", { name: "Códigos de recuperación" }).getByRole("listitem").allTextContents();
    expect(codes).toHaveLength(10);
    await axe(page, "mfa-codes");
    await page.getByRole("button", { name: "Los guardé, ir al escritorio" }).click();
    await expect(h1).toHaveText("Solicitudes");

    // The password now leads to the code; the enrolment's code is spent, the next step's is good.
    await page.getByRole("button", { name: "Salir" }).click();
    await passwordStep(page, who);
    await expect(h1).toHaveText("Verificación en dos pasos");
    await axe(page, "mfa-verify");
    await page.goto("/admin/audit"); // the desk waits for the code
    await expect(page).toHaveURL(/\/admin\/mfa$/);
    await page.getByLabel("Código").fill(totp(secret, Date.now() + 30_000));
    await page.getByRole("button", { name: "Verificar" }).click();
    await expect(h1).toHaveText("Solicitudes");

    // A recovery code, once.
    for (const attempt of [0, 1]) {
      await page.getByRole("button", { name: "Salir" }).click();
      await passwordStep(page, who);
      await page.getByLabel("Código").fill(codes[0]!.toUpperCase());
      await page.getByRole("button", { name: "Verificar" }).click();
      if (attempt === 0) {
        await expect(page.getByText(/te quedan 9/)).toBeVisible();
        await expect(page.getByRole("heading", { level: 1 })).toBeFocused();
        await page.getByRole("link", { name: "Solicitudes" }).last().click();
        await expect(h1).toHaveText("Solicitudes");
      } else {
        await expect(page.locator("#mfa-code-error")).toContainText("ya se usó");
      }
    }
  });

  test("a request in Spanish is approved", async ({ page }) => {
    const uniqueName = `Ana Persistente ${run}`;
    await applyInSpanish(page, { name: uniqueName, email: "ana@example.com", dni: "30.123.950", gender: "F", amount: "150.000" });
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Aprobada");
    await expect(page.getByText("¡Felicitaciones! Tu préstamo fue aprobado.")).toBeVisible();
    const code = await trackingCode(page);
    expect(code).toMatch(/^LD-[0-9A-Z]{10}$/);
    save({ approvedCode: code, uniqueName });
    // The public status page shows the decision and no personal data.
    await page.goto("/status");
    await page.getByLabel("Código de seguimiento").fill(code.toLowerCase());
    await page.getByRole("button", { name: "Buscar" }).click();
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Aprobada");
    await expect(page.getByText(uniqueName)).toHaveCount(0);
  });

  test("a request in English is rejected by its score", async ({ page }) => {
    await page.goto("/");
    await page.getByRole("button", { name: "English" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Apply for a loan");
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await page.getByLabel("Full name").fill("John Smith");
    await page.getByLabel("Email").fill("john@example.com");
    await page.getByLabel(/^DNI/).fill("30123120");
    await page.getByLabel(/Gender/).selectOption("M");
    await page.getByLabel(/Amount/).fill("50,000");
    await page.getByRole("button", { name: "Send request" }).click();
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Rejected");
    await expect(page.getByText("Reason: the credit assessment.")).toBeVisible();
  });

  test("an identity mismatch is rejected", async ({ page }) => {
    await applyInSpanish(page, { name: "Otra Persona", email: "otra@example.com", dni: "99123950", gender: "X", amount: "20000" });
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Rechazada");
    await expect(page.getByText("Motivo: los datos no coinciden con el registro de identidad.")).toBeVisible();
  });

  test("invalid input gets a message per field and loses nothing", async ({ page }) => {
    await page.goto("/");
    await page.getByLabel("Nombre completo").fill("Ana Válida");
    await page.getByLabel(/^DNI/).fill("123");
    await page.getByRole("button", { name: "Enviar solicitud" }).click();
    await expect(page.locator(".alert p")).toHaveText("Revisá los 4 campos marcados:");
    await expect(page.locator("#document_number-error")).toHaveText("Ingresá los 7 u 8 dígitos de tu DNI, con o sin puntos.");
    await expect(page.getByLabel("Nombre completo")).toHaveValue("Ana Válida");
    await expect(page).toHaveURL(/\/$/);
  });

  test("a hostile name renders as text", async ({ page }) => {
    const evil = `<img src=x onerror=alert(1)> ${run}`;
    const dialogs: string[] = [];
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await applyInSpanish(page, { name: evil, email: "xss@example.com", dni: "30123960", gender: "M", amount: "10000" });
    await login(page);
    await page.getByLabel("Buscar", { exact: true }).fill(run);
    await page.getByRole("button", { name: "Aplicar" }).click();
    const cell = page.getByRole("cell", { name: evil });
    await expect(cell).toBeVisible();
    await expect(page.locator("table img")).toHaveCount(0);
    expect(dialogs).toEqual([]);
  });

  test("an admin lists, filters, decides, deletes and restores", async ({ page, context }) => {
    await login(page);
    await expect(page.getByRole("table")).toBeVisible();
    await page.getByLabel("Estado").selectOption("approved");
    // Wait for the filtered page, not for any table: the unfiltered one is
    // still on screen until its answer arrives (a busy CI machine showed it).
    const filtered = page.waitForResponse((r) => r.url().includes("/api/v1/admin/requests?") && r.url().includes("status=approved"));
    await page.getByRole("button", { name: "Aplicar" }).click();
    await expect(page).toHaveURL(/status=approved/);
    expect((await filtered).status()).toBe(200);
    const badges = page.locator("tbody .badge");
    await expect(badges.first()).toBeVisible();
    await expect(badges.filter({ hasNotText: "Aprobada" })).toHaveCount(0);

    await page.getByLabel("Buscar", { exact: true }).fill(load().uniqueName ?? "");
    const searched = page.waitForResponse((r) => r.url().includes("/api/v1/admin/requests?") && r.url().includes("q="));
    await page.getByRole("button", { name: "Aplicar" }).click();
    expect((await searched).status()).toBe(200);
    await expect(page.getByRole("table").getByRole("row")).toHaveCount(2); // the heading's row and the one request
    await page.getByRole("table").getByRole("link").first().click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(/^Solicitud LD-/);

    // The comment is mandatory.
    await page.getByLabel("Nuevo estado").selectOption("rejected");
    await page.getByRole("button", { name: "Guardar cambio" }).click();
    await expect(page.getByText("Escribí un comentario.")).toBeVisible();
    await page.getByLabel("Comentario (obligatorio)").fill("Ingresos no verificados");
    await page.getByRole("button", { name: "Guardar cambio" }).click();
    await expect(page.getByText("Cambio guardado.")).toBeVisible();
    await expect(page.locator("dl.detail .badge")).toHaveText("Rechazada");
    const history = page.locator("ol.audit li");
    await expect(history.last()).toContainText("Cambio de estado");
    await expect(history.last()).toContainText("admin@loandesk.local");
    await expect(history.last()).toContainText("Ingresos no verificados");

    await page.getByRole("button", { name: "Eliminar solicitud…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Sí, eliminar" }).click();
    await expect(page.getByText("Esta solicitud está eliminada.")).toBeVisible();
    await page.reload(); // a deleted request offers Restore, also after the Undo notice is gone
    await page.getByRole("button", { name: "Restaurar" }).click();
    await expect(page.getByText("Esta solicitud está eliminada.")).toHaveCount(0);
    await expect(history).toHaveCount(4); // decide, status change, delete, restore
    // Put it back, so the persistence phase finds it approved.
    await page.getByLabel("Nuevo estado").selectOption("approved");
    await page.getByLabel("Comentario (obligatorio)").fill("Verificado");
    await page.getByRole("button", { name: "Guardar cambio" }).click();
    await expect(page.locator("dl.detail .badge")).toHaveText("Aprobada");
    save({ cookies: (await context.cookies()).map(({ name, value, domain, path }) => ({ name, value, domain, path })) });

    // Who saw it: this admin, each time the request was shown; and the
    // search by name that found it, as a kind, never the name.
    await page.getByRole("link", { name: "Quién vio esta solicitud" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Auditoría");
    const seen = page.getByRole("table").getByRole("row").filter({ hasText: "Vio una solicitud" });
    await expect(seen.first()).toContainText("admin@loandesk.local");
    expect(await seen.count()).toBeGreaterThanOrEqual(2); // shown, then reloaded
    await page.getByLabel("Número de solicitud").fill("");
    await page.getByLabel("Correo del administrador").fill("admin@loandesk.local");
    await page.getByRole("button", { name: "Aplicar" }).click();
    await expect(page.getByRole("table").getByRole("row").filter({ hasText: "Vio la lista" }).filter({ hasText: "nombre" }).first()).toBeVisible();
    await expect(page.getByRole("table")).not.toContainText(load().uniqueName ?? "never-empty");
  });

  test("an applicant's data is erased at their request, confirmed by their DNI", async ({ page, request }) => {
    const name = `Borrable Pedido ${run}`;
    const filed = await request.post("/api/v1/requests", {
      headers: { "Idempotency-Key": `erase-${run}` },
      data: { full_name: name, email: `borrable-${run}@example.com`, document_number: "30456789", gender: "X", amount: 20_000 },
    });
    expect(filed.status()).toBe(201);
    await login(page);
    await page.getByLabel("Buscar", { exact: true }).fill(name);
    await page.getByRole("button", { name: "Aplicar" }).click();
    await page.getByRole("table").getByRole("link").first().click();
    await page.getByRole("button", { name: "Borrar los datos del solicitante…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("DNI del titular, para confirmar").fill("30.456.789");
    await dialog.getByRole("button", { name: "Borrar los datos" }).click();
    await expect(page.getByText(/Se borraron los datos del solicitante de \d+ solicitud/)).toBeVisible();
    await expect(page.locator("dl.detail")).not.toContainText(name);
    await expect(page.locator("dl.detail")).toContainText("(datos borrados)");
    await expect(page.locator("ol.audit li").last()).toContainText("Datos del solicitante borrados");
  });

  test("robots.txt is real and the page describes itself", async ({ page, request }) => {
    const robots = await request.get("/robots.txt");
    expect(robots.status()).toBe(200);
    expect(robots.headers()["content-type"]).toContain("text/plain");
    expect(await robots.text()).toContain("Disallow: /admin");
    // The security headers on the page and on the API's answers; no HSTS
    // on plain-HTTP localhost (WEB_HSTS_MAX_AGE 0; test-swarm checks it on).
    for (const path of ["/", "/api/v1/admin/requests"]) {
      const r = await request.get(path);
      const h = r.headers();
      expect(h["content-security-policy"], path).toContain("frame-ancestors 'none'");
      expect(h["x-content-type-options"], path).toBe("nosniff");
      expect(h["strict-transport-security"], path).toBeUndefined();
      // Each once: the api's own and web's would be two (a browser may refuse a doubled policy).
      const names = r.headersArray().map((x) => x.name.toLowerCase());
      for (const n of ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options", "permissions-policy", "cross-origin-opener-policy"]) {
        expect(names.filter((x) => x === n), `${n} on ${path}`).toHaveLength(1);
      }
    }
    await page.goto("/");
    await expect(page.locator('meta[name="description"]')).toHaveAttribute("content", /préstamo/);
  });

  test("the admin API needs a session and bad bodies get problem+json", async ({ request }) => {
    const noSession = await request.get("/api/v1/admin/requests");
    expect(noSession.status()).toBe(401);
    expect(noSession.headers()["content-type"]).toBe("application/problem+json");
    expect((await noSession.json()).code).toBe("unauthorized");

    const bad = await request.post("/api/v1/requests", {
      headers: { "Content-Type": "application/json", "Idempotency-Key": `e2e-bad-${run}` },
      data: Buffer.from('{"full_name": "Ana", "amount": '), // raw bytes: a string would be JSON-encoded
    });
    expect(bad.status()).toBe(400);
    expect(bad.headers()["content-type"]).toBe("application/problem+json");
    const problem = await bad.json();
    expect(problem).toMatchObject({ status: 400, code: "invalid", detail: "the body is not valid JSON" });
  });
});

test.describe("@outage", () => {
  test("with scoring stopped, a request waits in review", async ({ page }) => {
    await applyInSpanish(page, { name: "Ana Espera", email: "espera@example.com", dni: "30123970", gender: "F", amount: "100000" });
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("En revisión");
    await expect(page.getByText(/esta página se actualiza sola/)).toBeVisible();
    save({ outageCode: await trackingCode(page) });
  });
});

test.describe("@recovery", () => {
  test("when scoring is back, the worker decides and the status page shows it", async ({ page }) => {
    const code = load().outageCode;
    expect(code).toBeTruthy();
    await page.goto(`/requests/${code}`);
    // The page polls; the worker retries with backoff (at most 10 s in compose).
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Aprobada", { timeout: 60_000 });
  });
});

test.describe("@persistence", () => {
  test("after restarting PostgreSQL and Valkey, requests and sessions are still there", async ({ page, context }) => {
    const s = load();
    await page.goto(`/requests/${s.approvedCode}`);
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Aprobada");
    // The admin session lives in Valkey (append-only file): still valid.
    await context.addCookies(s.cookies ?? []);
    await page.goto(`/admin?q=${encodeURIComponent(s.uniqueName ?? "")}`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Solicitudes");
    await expect(page.getByRole("cell", { name: s.uniqueName ?? "" })).toBeVisible();
  });
});
