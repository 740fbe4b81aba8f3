// People who use no mouse: filing a request and reviewing one with the
// keyboard alone, seeing where the focus is at every step.
import { expect, test, type Page } from "@playwright/test";

const ADMIN = { email: "admin@loandesk.local", password: "insecure-dev-admin-password" };
const run = Date.now().toString(36);

/** Presses Tab until the focused element matches, as a person would (at most 40 times). */
async function tabTo(page: Page, selector: string, key: "Tab" | "Shift+Tab" = "Tab") {
  for (let i = 0; i < 40; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press(key);
  }
  throw new Error(`Tab never reached ${selector}`);
}

/** The focus ring of the focused element against what is behind it: both tones, and the better one ≥ 3:1. */
async function ringContrast(page: Page): Promise<number> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r = 0, g = 0, b = 0]: number[]) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const ratio = (a: number[], b: number[]) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p) as [number, number];
      return (x + 0.05) / (y + 0.05);
    };
    let bg: number[] = [255, 255, 255];
    for (let n = el.parentElement; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3]! > 0)) {
        bg = c.slice(0, 3);
        break;
      }
    }
    const style = getComputedStyle(el);
    if (style.outlineStyle === "none" || parseFloat(style.outlineWidth) < 2) return 0;
    const outer = rgb(style.outlineColor).slice(0, 3);
    const inner = rgb(style.boxShadow).slice(0, 3);
    return Math.max(ratio(outer, bg), inner.length === 3 ? ratio(inner, bg) : 0);
  });
}

test.describe("@a11y", () => {
  test("an applicant files a request with the keyboard only", async ({ page }) => {
    await page.goto("/");
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name: "Saltar al contenido" })).toBeFocused();
    expect(await ringContrast(page)).toBeGreaterThanOrEqual(3);
    await tabTo(page, "header button.lang");
    expect(await ringContrast(page), "ring on the blue header").toBeGreaterThanOrEqual(3);
    await tabTo(page, "#full_name");
    await page.keyboard.type(`Teclado Solo ${run}`);
    await page.keyboard.press("Tab");
    await expect(page.locator("#email")).toBeFocused();
    expect(await ringContrast(page), "ring on a white card").toBeGreaterThanOrEqual(3);
    await page.keyboard.type("teclado@example.com");
    await page.keyboard.press("Tab");
    await page.keyboard.type("30.123.950");
    await page.keyboard.press("Tab");
    await expect(page.locator("#gender")).toBeFocused();
    await page.keyboard.type("F"); // a closed select picks the option that starts with the letter
    await expect(page.locator("#gender")).toHaveValue("F");
    await page.keyboard.press("Tab");
    await page.keyboard.type("15"); // too little: the error stays until the value is valid
    await page.keyboard.press("Tab");
    await expect(page.getByRole("button", { name: "Enviar solicitud" })).toBeFocused();
    expect(await ringContrast(page), "ring on a blue button").toBeGreaterThanOrEqual(3);
    await page.keyboard.press("Enter");
    await expect(page.locator("#amount")).toBeFocused();
    await expect(page.locator("#amount-error")).toHaveText("Ingresá un monto entero entre 10.000 y 5.000.000, por ejemplo 150000.");
    await page.keyboard.type("0");
    await expect(page.locator("#amount-error")).toBeVisible(); // 150: still wrong
    await page.keyboard.type("000");
    await expect(page.locator("#amount-error")).toHaveCount(0); // 150000
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/\/requests\/LD-/);
    await expect(page.getByRole("heading", { level: 1 })).toBeFocused();
    await expect(page.getByRole("heading", { level: 2 })).toHaveText("Aprobada");
  });

  test("an admin reviews a request with the keyboard only", async ({ page, request }) => {
    const name = `Revisión Teclado ${run}`;
    const filed = await request.post("/api/v1/requests", {
      headers: { "Idempotency-Key": `kbd-${run}` },
      data: { full_name: name, email: "kbd@example.com", document_number: "30123950", gender: "F", amount: 20_000 },
    });
    expect(filed.status()).toBe(201);
    const code = (await filed.json()).tracking_code as string;

    await page.goto("/admin/login");
    await tabTo(page, "#login-email");
    await page.keyboard.type(ADMIN.email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press("Enter");
    // After the login the focus is on the new page's heading, not lost on <body>.
    await expect(page.getByRole("heading", { level: 1, name: "Solicitudes" })).toBeFocused();
    await expect(page).toHaveTitle("Solicitudes · LoanDesk");

    await tabTo(page, "#f-q");
    await page.keyboard.type(name);
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/q=/);
    await expect(page.locator("table.requests tbody tr")).toHaveCount(1);
    await tabTo(page, `table.requests a`);
    await expect(page.locator(":focus")).toHaveText(code);
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1, name: `Solicitud ${code}` })).toBeFocused();
    await expect(page).toHaveTitle(`Solicitud ${code} · LoanDesk`);

    await tabTo(page, "#newstatus");
    await page.keyboard.type("R");
    await expect(page.locator("#newstatus")).toHaveValue("rejected");
    await page.keyboard.press("Tab");
    await page.keyboard.type("Ingresos no verificados");
    await page.keyboard.press("Tab");
    await expect(page.getByRole("button", { name: "Guardar cambio" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.locator(".notice")).toHaveText("Cambio guardado.");
    await expect(page.locator("dl.detail .badge")).toHaveText("Rechazada");

    // Deleting asks first, with Cancel focused: Enter alone deletes nothing.
    await tabTo(page, "button.danger");
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await expect(dialog.getByRole("button", { name: "Cancelar" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(dialog).toBeHidden();
    await expect(page.getByText("Esta solicitud está eliminada.")).toHaveCount(0);
    await tabTo(page, "button.danger", "Shift+Tab");
    await page.keyboard.press("Enter");
    await expect(dialog).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await page.keyboard.press("Enter"); // focus went back to Delete
    await page.keyboard.press("Tab");
    await expect(dialog.getByRole("button", { name: "Sí, eliminar" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.getByText("Esta solicitud está eliminada.")).toBeVisible();
    // The notice has the focus; its Undo is the next stop.
    await expect(page.locator("div.live")).toBeFocused();
    await page.keyboard.press("Tab");
    await expect(page.getByRole("button", { name: "Deshacer" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.locator(".notice")).toHaveText("Solicitud restaurada.");
    await expect(page.locator("div.live")).toBeFocused();
    await expect(page.getByText("Esta solicitud está eliminada.")).toHaveCount(0);
    await expect(page.locator("ol.audit li")).toHaveCount(4); // decide, status change, delete, restore

    await tabTo(page, "a[href^='/admin']", "Shift+Tab");
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { level: 1, name: "Solicitudes" })).toBeFocused();
    await expect(page).toHaveURL(/q=/); // back to the list as it was
  });
});
