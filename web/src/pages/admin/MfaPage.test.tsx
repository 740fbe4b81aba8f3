import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { fakeApi, problem } from "../../test-api";

afterEach(() => {
  vi.restoreAllMocks();
  localStorage.clear();
});

const session = (mfa: string, extra: object = {}) => ({ email: "ana@loandesk.local", csrf_token: `tok-${mfa}`, mfa, mfa_enrolled: mfa !== "enrol", ...extra });
const codes = ["abcde-fghij", "klmno-pqrst", "uvwxy-z2345", "aaaaa-bbbbb", "ccccc-ddddd", "eeeee-fffff", "ggggg-hhhhh", "iiiii-jjjjj", "kkkkk-lllll", "mmmmm-nnnnn"];

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

describe("two-step login", () => {
  it("asks a login at its second step for the code, marks a wrong one at the field, and opens the desk with the right one", async () => {
    let tries = 0;
    const { calls } = fakeApi({
      "POST /api/v1/admin/session": () => ({ body: session("verify") }),
      "POST /api/v1/admin/mfa/verify": () =>
        ++tries === 1 ? { ...problem(400, "invalid"), body: { ...problem(400, "invalid").body, errors: { code: "is not right" } } } : { body: session("done") },
      "GET /api/v1/admin/requests": () => ({ body: { items: [], total: 0, next_cursor: null, total_is_lower_bound: false } }),
      "GET /api/v1/admin/stats": () => ({ body: { in_review: 0, approved: 0, rejected: 0, deleted: 0 } }),
      "GET /api/v1/admin/activity": () => ({ body: { days: [], queue: { ready: 0, waiting: 0, running: 0 } } }),
    });
    const user = userEvent.setup();
    window.history.pushState(null, "", "/admin/login");
    render(<App />);
    await user.type(await screen.findByLabelText("Correo electrónico"), "ana@loandesk.local");
    await user.type(screen.getByLabelText("Contraseña"), "the-password");
    await user.click(screen.getByRole("button", { name: "Ingresar" }));
    await screen.findByRole("heading", { level: 1, name: "Verificación en dos pasos" });
    // The desk's links wait for the second step; logging out does not.
    expect(within(screen.getByRole("banner")).queryByRole("link", { name: "Auditoría" })).toBeNull();
    expect(within(screen.getByRole("banner")).getByRole("button", { name: "Salir" })).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Verificar" }));
    expect(screen.getByLabelText("Código")).toHaveAccessibleDescription(/Escribí el código que muestra tu app./);
    expect(calls.filter((c) => c.path === "/api/v1/admin/mfa/verify")).toHaveLength(0);
    await user.type(screen.getByLabelText("Código"), "123456");
    await user.click(screen.getByRole("button", { name: "Verificar" }));
    await waitFor(() => expect(screen.getByLabelText("Código")).toHaveFocus());
    expect(screen.getByLabelText("Código")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Código")).toHaveAccessibleDescription(/Ese código no es correcto o ya se usó/);
    await user.clear(screen.getByLabelText("Código"));
    await user.type(screen.getByLabelText("Código"), " 654321 ");
    await user.click(screen.getByRole("button", { name: "Verificar" }));
    await screen.findByRole("heading", { level: 1, name: "Solicitudes" });
    expect(calls.filter((c) => c.path === "/api/v1/admin/mfa/verify").map((c) => c.body)).toEqual([{ code: "123456" }, { code: "654321" }]);
  });

  it("sends a session at its second step back to it from any page of the desk", async () => {
    fakeApi({ "GET /api/v1/admin/session": () => ({ body: session("verify") }) });
    renderAt("/admin/audit");
    await screen.findByRole("heading", { level: 1, name: "Verificación en dos pasos" });
    expect(window.location.pathname).toBe("/admin/mfa");
  });

  it("says how many recovery codes are left after one is used", async () => {
    fakeApi({
      "GET /api/v1/admin/session": () => ({ body: session("verify") }),
      "POST /api/v1/admin/mfa/verify": () => ({ body: session("done", { recovery_codes_left: 3 }) }),
    });
    localStorage.setItem("loandesk.lang", "en");
    const user = userEvent.setup();
    renderAt("/admin/mfa");
    await user.type(await screen.findByLabelText("Code"), "ABCDE-FGHIJ");
    await user.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByText(/You logged in with a recovery code; 3 left./)).toBeInTheDocument();
    expect(screen.getByRole("heading", { level: 1, name: "Two-step login" })).toHaveFocus();
  });

  it("sets TOTP up where it is required: the QR code and the key, the first code, then the ten recovery codes once", async () => {
    const { calls, spy } = fakeApi({
      "GET /api/v1/admin/session": () => ({ body: session("enrol") }),
      "POST /api/v1/admin/mfa/enrolment": () => ({ body: { secret: "JBSWY3DPEHPK3PXP", otpauth_url: "otpauth://totp/LoanDesk:ana", qr_code: "data:image/png;base64,iVBORw0KGgo=" } }),
      "POST /api/v1/admin/mfa/enrolment/confirm": () => ({ body: session("done", { recovery_codes: codes }) }),
      "GET /api/v1/admin/requests": () => ({ body: { items: [], total: 0, next_cursor: null, total_is_lower_bound: false } }),
      "GET /api/v1/admin/stats": () => ({ body: { in_review: 0, approved: 0, rejected: 0, deleted: 0 } }),
      "GET /api/v1/admin/activity": () => ({ body: { days: [], queue: { ready: 0, waiting: 0, running: 0 } } }),
    });
    localStorage.setItem("loandesk.lang", "en");
    const user = userEvent.setup();
    renderAt("/admin");
    await screen.findByRole("heading", { level: 1, name: "Turn on two-step login" });
    expect(screen.getByText("To use the desk, your account needs two-step login.")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Start" }));
    expect(await screen.findByRole("img", { name: "QR code with LoanDesk's key for your authenticator app" })).toHaveAttribute("src", "data:image/png;base64,iVBORw0KGgo=");
    expect(screen.getByRole("heading", { level: 2, name: "1. Scan this QR code with your app." })).toHaveFocus();
    expect(screen.getByText("JBSWY3DPEHPK3PXP")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Code"), "123456");
    await user.click(screen.getByRole("button", { name: "Turn on" }));
    const list = await screen.findByRole("list", { name: "Recovery codes" });
    expect(screen.getByRole("heading", { level: 1, name: "Your recovery codes" })).toHaveFocus();
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual(codes);
    expect(calls.find((c) => c.path === "/api/v1/admin/mfa/enrolment/confirm")?.body).toEqual({ code: "123456" });
    // The new session's CSRF token signs what follows.
    await user.click(screen.getByRole("button", { name: "I saved them, go to the desk" }));
    await screen.findByRole("heading", { level: 1, name: "Requests" });
    await user.click(screen.getByRole("button", { name: "Log out" }));
    await waitFor(() =>
      expect(spy.mock.calls.filter(([i, init]) => String(i).endsWith("/api/v1/admin/session") && init?.method === "DELETE").map(([, init]) => (init?.headers as Record<string, string>)["X-CSRF-Token"])).toEqual(["tok-done"]),
    );
  });

  it("offers the set-up where TOTP is optional, and says when it is on", async () => {
    fakeApi({ "GET /api/v1/admin/session": () => ({ body: { ...session("done"), mfa_enrolled: false } }) });
    const user = userEvent.setup();
    renderAt("/admin/password");
    await user.click(await within(screen.getByRole("banner")).findByRole("link", { name: "Verificación en dos pasos" }));
    await screen.findByRole("heading", { level: 1, name: "Activar la verificación en dos pasos" });
    expect(screen.queryByText("Para usar el escritorio, tu cuenta necesita la verificación en dos pasos.")).toBeNull();
  });
});
