// Spanish by default, English on request; the choice is remembered.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

export type Lang = "es" | "en";

const es = {
  "app.name": "LoanDesk",
  "nav.apply": "Solicitar",
  "nav.status": "Seguir mi solicitud",
  "nav.admin": "Administración",
  "lang.switch": "English",
  "skip": "Saltar al contenido",
  "apply.title": "Solicitar un préstamo",
  "apply.intro": "Completá el formulario. Te respondemos en segundos.",
  "field.full_name": "Nombre completo",
  "field.email": "Correo electrónico",
  "field.document_number": "DNI",
  "field.document_number.hint": "7 u 8 dígitos, con o sin puntos.",
  "field.gender": "Género (como figura en el DNI)",
  "gender.F": "Femenino (F)",
  "gender.M": "Masculino (M)",
  "gender.X": "No binario (X)",
  "field.amount": "Monto en pesos",
  "field.amount.hint": "Entre $10.000 y $5.000.000, sin centavos.",
  "apply.submit": "Enviar solicitud",
  "apply.sending": "Enviando…",
  "apply.retrying": "El servidor no respondió; reintentando sin duplicar tu solicitud (intento {attempt} de {of})…",
  "errors.summary": "Revisá {n} campo(s) marcados.",
  "err.name": "Ingresá entre 2 y 120 caracteres.",
  "err.name.letters": "El nombre debe tener letras.",
  "err.name.control": "El nombre tiene caracteres no permitidos.",
  "err.email": "Ingresá un correo válido, por ejemplo ana@ejemplo.com.",
  "err.dni": "El DNI tiene 7 u 8 dígitos.",
  "err.gender": "Elegí una opción.",
  "err.amount": "Ingresá un monto entero entre 10.000 y 5.000.000.",
  "err.network": "No pudimos conectar con el servidor. Tus datos siguen acá: probá de nuevo.",
  "err.server": "Algo salió mal de nuestro lado. Tus datos siguen acá: probá de nuevo.",
  "err.ratelimit": "Demasiados intentos. Esperá un momento y volvé a probar.",
  "err.conflict": "Esta solicitud ya se está procesando. Esperá unos segundos y volvé a probar.",
  "decision.title": "Tu solicitud",
  "decision.code": "Código de seguimiento",
  "decision.code.hint": "Guardalo: con él podés seguir tu solicitud.",
  "status.approved": "Aprobada",
  "status.rejected": "Rechazada",
  "status.in_review": "En revisión",
  "status.approved.text": "¡Felicitaciones! Tu préstamo fue aprobado.",
  "status.rejected.text": "Lo sentimos, tu solicitud fue rechazada.",
  "status.in_review.text": "No pudimos decidir todavía. La revisamos en breve: esta página se actualiza sola.",
  "reason.identity": "Motivo: los datos no coinciden con el registro de identidad.",
  "reason.score": "Motivo: resultado de la evaluación crediticia.",
  "reason.manual": "Decidida por nuestro equipo.",
  "decision.amount": "Monto solicitado",
  "decision.created": "Enviada",
  "decision.decided": "Decidida",
  "decision.new": "Hacer otra solicitud",
  "track.title": "Seguir mi solicitud",
  "track.label": "Código de seguimiento",
  "track.hint": "Por ejemplo LD-7K2M9QX4TB.",
  "track.submit": "Buscar",
  "track.notfound": "No encontramos una solicitud con ese código.",
  "login.title": "Ingreso de administradores",
  "login.email": "Correo electrónico",
  "login.password": "Contraseña",
  "login.submit": "Ingresar",
  "login.failed": "Correo o contraseña incorrectos.",
  "admin.title": "Solicitudes",
  "admin.logout": "Salir",
  "admin.stats": "Resumen",
  "admin.filter": "Filtrar",
  "admin.filter.status": "Estado",
  "admin.filter.any": "Todos",
  "admin.filter.from": "Desde",
  "admin.filter.to": "Hasta",
  "admin.filter.q": "Buscar (palabras del nombre o del correo, un correo o un DNI)",
  "admin.filter.deleted": "Ver eliminadas",
  "admin.filter.apply": "Aplicar",
  "admin.filter.clear": "Limpiar",
  "admin.table.caption": "Solicitudes, de la más nueva a la más vieja",
  "admin.col.code": "Código",
  "admin.col.name": "Nombre",
  "admin.col.document": "DNI",
  "admin.col.amount": "Monto",
  "admin.col.status": "Estado",
  "admin.col.created": "Fecha",
  "admin.empty": "No hay solicitudes con estos filtros.",
  "admin.page": "Página {page} · {total} solicitudes",
  "admin.page.atleast": "Página {page} · más de {total} solicitudes",
  "admin.first": "Primera",
  "admin.prev": "Anterior",
  "admin.next": "Siguiente",
  "admin.deleted": "Eliminadas",
  "detail.back": "Volver a la lista",
  "detail.title": "Solicitud {code}",
  "detail.score": "Puntaje",
  "detail.decided_by": "Decidida por",
  "detail.change": "Cambiar estado",
  "detail.newstatus": "Nuevo estado",
  "detail.comment": "Comentario (obligatorio)",
  "detail.save": "Guardar cambio",
  "detail.delete": "Eliminar",
  "detail.restore": "Restaurar",
  "detail.deleted": "Esta solicitud está eliminada.",
  "detail.audit": "Historial",
  "detail.saved": "Cambio guardado.",
  "audit.decide": "Decisión automática",
  "audit.status_change": "Cambio de estado",
  "audit.delete": "Eliminada",
  "audit.restore": "Restaurada",
  "err.comment": "Escribí un comentario.",
  "loading": "Cargando…",
  "notfound.title": "Página no encontrada",
} as const;

export type MessageKey = keyof typeof es;

const en: Record<MessageKey, string> = {
  "app.name": "LoanDesk",
  "nav.apply": "Apply",
  "nav.status": "Track my request",
  "nav.admin": "Admin",
  "lang.switch": "Español",
  "skip": "Skip to content",
  "apply.title": "Apply for a loan",
  "apply.intro": "Fill in the form. We answer in seconds.",
  "field.full_name": "Full name",
  "field.email": "Email",
  "field.document_number": "DNI (national ID number)",
  "field.document_number.hint": "7 or 8 digits, dots allowed.",
  "field.gender": "Gender (as on your DNI)",
  "gender.F": "Female (F)",
  "gender.M": "Male (M)",
  "gender.X": "Non-binary (X)",
  "field.amount": "Amount in pesos",
  "field.amount.hint": "From $10,000 to $5,000,000, whole pesos.",
  "apply.submit": "Send request",
  "apply.sending": "Sending…",
  "apply.retrying": "The server did not answer; retrying without filing twice (attempt {attempt} of {of})…",
  "errors.summary": "Please check {n} marked field(s).",
  "err.name": "Enter 2 to 120 characters.",
  "err.name.letters": "The name must contain letters.",
  "err.name.control": "The name contains characters that are not allowed.",
  "err.email": "Enter a valid email, such as ana@example.com.",
  "err.dni": "A DNI has 7 or 8 digits.",
  "err.gender": "Choose an option.",
  "err.amount": "Enter a whole amount from 10,000 to 5,000,000.",
  "err.network": "We could not reach the server. Your data is still here: try again.",
  "err.server": "Something went wrong on our side. Your data is still here: try again.",
  "err.ratelimit": "Too many attempts. Wait a moment and try again.",
  "err.conflict": "This request is already being processed. Wait a few seconds and try again.",
  "decision.title": "Your request",
  "decision.code": "Tracking code",
  "decision.code.hint": "Keep it: it lets you follow your request.",
  "status.approved": "Approved",
  "status.rejected": "Rejected",
  "status.in_review": "In review",
  "status.approved.text": "Congratulations! Your loan was approved.",
  "status.rejected.text": "We are sorry, your request was rejected.",
  "status.in_review.text": "We could not decide yet. We will review it shortly: this page updates by itself.",
  "reason.identity": "Reason: the details do not match the identity registry.",
  "reason.score": "Reason: the credit assessment.",
  "reason.manual": "Decided by our team.",
  "decision.amount": "Amount requested",
  "decision.created": "Sent",
  "decision.decided": "Decided",
  "decision.new": "Make another request",
  "track.title": "Track my request",
  "track.label": "Tracking code",
  "track.hint": "For example LD-7K2M9QX4TB.",
  "track.submit": "Search",
  "track.notfound": "We found no request with that code.",
  "login.title": "Admin login",
  "login.email": "Email",
  "login.password": "Password",
  "login.submit": "Log in",
  "login.failed": "Wrong email or password.",
  "admin.title": "Requests",
  "admin.logout": "Log out",
  "admin.stats": "Summary",
  "admin.filter": "Filter",
  "admin.filter.status": "Status",
  "admin.filter.any": "Any",
  "admin.filter.from": "From",
  "admin.filter.to": "To",
  "admin.filter.q": "Search (words of the name or email, an email or a DNI)",
  "admin.filter.deleted": "Show deleted",
  "admin.filter.apply": "Apply",
  "admin.filter.clear": "Clear",
  "admin.table.caption": "Requests, newest first",
  "admin.col.code": "Code",
  "admin.col.name": "Name",
  "admin.col.document": "DNI",
  "admin.col.amount": "Amount",
  "admin.col.status": "Status",
  "admin.col.created": "Date",
  "admin.empty": "No requests match these filters.",
  "admin.page": "Page {page} · {total} requests",
  "admin.page.atleast": "Page {page} · more than {total} requests",
  "admin.first": "First",
  "admin.prev": "Previous",
  "admin.next": "Next",
  "admin.deleted": "Deleted",
  "detail.back": "Back to the list",
  "detail.title": "Request {code}",
  "detail.score": "Score",
  "detail.decided_by": "Decided by",
  "detail.change": "Change status",
  "detail.newstatus": "New status",
  "detail.comment": "Comment (required)",
  "detail.save": "Save change",
  "detail.delete": "Delete",
  "detail.restore": "Restore",
  "detail.deleted": "This request is deleted.",
  "detail.audit": "History",
  "detail.saved": "Change saved.",
  "audit.decide": "Automatic decision",
  "audit.status_change": "Status change",
  "audit.delete": "Deleted",
  "audit.restore": "Restored",
  "err.comment": "Write a comment.",
  "loading": "Loading…",
  "notfound.title": "Page not found",
};

const dictionaries: Record<Lang, Record<MessageKey, string>> = { es, en };

type I18n = {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  money: (n: number) => string;
  count: (n: number) => string;
  date: (iso: string) => string;
};

const Ctx = createContext<I18n | null>(null);

function initialLang(): Lang {
  const saved = localStorage.getItem("loandesk.lang");
  return saved === "en" || saved === "es" ? saved : "es";
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    localStorage.setItem("loandesk.lang", l);
    setLangState(l);
  }, []);
  const value = useMemo<I18n>(() => {
    const locale = lang === "es" ? "es-AR" : "en-US";
    const money = new Intl.NumberFormat(locale, { style: "currency", currency: "ARS", maximumFractionDigits: 0 });
    const dates = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
    const counts = new Intl.NumberFormat(locale);
    return {
      lang,
      setLang,
      t: (key, vars) =>
        dictionaries[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars?.[k] ?? `{${k}}`)),
      money: (n) => money.format(n),
      count: (n) => counts.format(n),
      date: (iso) => dates.format(new Date(iso)),
    };
  }, [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
