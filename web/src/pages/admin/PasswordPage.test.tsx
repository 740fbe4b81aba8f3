import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../../App";
import { fakeApi, problem } from "../../test-api";

afterEach(() => {
  vi.restoreAllMocks();
  localStorage.clear();
});

function passwordApi(change: Parameters<typeof fakeApi>[0][string]) {
  return fakeApi({
    "GET /api/v1/admin/session": () => ({ body: { email: "ana@loandesk.local", csrf_token: "tok-1" } }),
    "POST /api/v1/admin/password": change,
    "DELETE /api/v1/admin/session": () => ({ status: 204 }),
  });
}

function renderAt(path: string) {
  window.history.pushState(null, "", path);
  return render(<App />);
}

/** The CSRF header each call to path carried. */
function csrfOf(spy: ReturnType<typeof fakeApi>["spy"], method: string, path: string): (string | undefined)[] {
  return spy.mock.calls
    .filter(([input, init]) => String(input).endsWith(path) && init?.method === method)
    .map(([, init]) => (init?.headers as Record<string, string>)["X-CSRF-Token"]);
}

describe("change password", () => {
  it("says what to fix before asking the server, and focuses the first field to fix", async () => {
    const { calls } = passwordApi(() => ({ body: {} }));
    const user = userEvent.setup();
    renderAt("/admin/password");
    await screen.findByRole("heading", { level: 1, name: "Cambiar la contraseña" });
    expect(within(screen.getByRole("banner")).getByRole("link", { name: "Contraseña" })).toHaveAttribute("aria-current", "page");
    await user.click(screen.getByRole("button", { name: "Cambiar la contraseña" }));
    expect(screen.getByRole("alert")).toHaveTextContent("Revisá lo marcado abajo.");
    expect(screen.getByLabelText("Contraseña actual")).toHaveFocus();
    expect(screen.getByLabelText("Contraseña actual")).toHaveAccessibleDescription("Escribí tu contraseña actual.");
    expect(screen.getByLabelText("Contraseña nueva")).toHaveAttribute("aria-invalid", "true");

    await user.type(screen.getByLabelText("Contraseña actual"), "the-old-password");
    await user.type(screen.getByLabelText("Contraseña nueva"), "a-new-password!");
    await user.type(screen.getByLabelText("Repetí la contraseña nueva"), "a-new-passwort!");
    await user.click(screen.getByRole("button", { name: "Cambiar la contraseña" }));
    expect(screen.getByLabelText("Repetí la contraseña nueva")).toHaveFocus();
    expect(screen.getByLabelText("Repetí la contraseña nueva")).toHaveAccessibleDescription("Las dos contraseñas nuevas no coinciden.");
    expect(calls.filter((c) => c.path === "/api/v1/admin/password")).toHaveLength(0);
  });

  it("marks a wrong current password as the server says, and keeps what was typed", async () => {
    passwordApi(() => ({ ...problem(400, "invalid"), body: { ...problem(400, "invalid").body, errors: { current_password: "is not your password" } } }));
    const user = userEvent.setup();
    renderAt("/admin/password");
    await user.type(await screen.findByLabelText("Contraseña actual"), "not-the-password");
    await user.type(screen.getByLabelText("Contraseña nueva"), "a-new-password!");
    await user.type(screen.getByLabelText("Repetí la contraseña nueva"), "a-new-password!");
    await user.click(screen.getByRole("button", { name: "Cambiar la contraseña" }));
    await waitFor(() => expect(screen.getByLabelText("Contraseña actual")).toHaveFocus());
    expect(screen.getByLabelText("Contraseña actual")).toHaveAccessibleDescription("Esa no es tu contraseña actual.");
    expect(screen.getByLabelText("Contraseña nueva")).toHaveValue("a-new-password!");
  });

  it("goes on under the new session: its CSRF token signs what follows", async () => {
    const { calls, spy } = passwordApi(() => ({ body: { email: "ana@loandesk.local", csrf_token: "tok-2" } }));
    const user = userEvent.setup();
    localStorage.setItem("loandesk.lang", "en");
    renderAt("/admin/password");
    await user.type(await screen.findByLabelText("Current password"), "the-old-password");
    await user.type(screen.getByLabelText("New password"), "a phrase of words");
    await user.type(screen.getByLabelText("Repeat the new password"), "a phrase of words");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Done: your password changed, and your other sessions ended.");
    expect(calls.find((c) => c.path === "/api/v1/admin/password")?.body).toEqual({ current_password: "the-old-password", new_password: "a phrase of words" });
    expect(screen.getByLabelText("Current password")).toHaveValue("");
    await user.click(screen.getByRole("button", { name: "Log out" }));
    await waitFor(() => expect(csrfOf(spy, "DELETE", "/api/v1/admin/session")).toEqual(["tok-2"]));
    expect(csrfOf(spy, "POST", "/api/v1/admin/password")).toEqual(["tok-1"]);
  });
});
