// The admin area: login, the list with its overview, one request.
export { AdminSessionProvider, useAdminSession } from "./session";
export { LoginPage } from "./LoginPage";
export { DashboardPage } from "./list";
export { RequestPage } from "./RequestPage";
