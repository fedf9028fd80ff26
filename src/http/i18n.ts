// Messages of the v1 error envelope in English, Spanish and French, chosen from Accept-Language by
// quality-weighted negotiation. Codes and statuses never change with the language.
import type { ErrorCode } from "../domain/errors.ts";
import { LANGUAGES, type Language } from "../domain/language.ts";

export { LANGUAGES, type Language };

export const messages: Record<Language, Record<ErrorCode, string>> = {
  en: {
    validation_error: "Request validation failed.",
    unauthorized: "Authentication is required or the token is invalid.",
    invalid_credentials: "The email or password is incorrect.",
    payment_declined: "The payment method was declined.",
    stripe_error: "The payment operation failed.",
    stripe_not_connected: "The host has not finished setting up payouts.",
    forbidden: "You do not have permission to do this.",
    not_found: "The resource does not exist.",
    link_not_found: "The call link does not exist.",
    method_not_allowed: "This method is not allowed on this resource.",
    conflict: "The resource already exists or was changed.",
    call_not_active: "The call is not active.",
    idempotency_key_reused: "This idempotency key was already used with a different request.",
    link_unavailable: "The call link cannot be used now.",
    payload_too_large: "The request body is too large.",
    unsupported_media_type: "The request content type is not supported.",
    rate_limited: "Too many requests. Try again later.",
    internal_error: "An unexpected error occurred.",
    service_unavailable: "The service is temporarily unavailable.",
  },
  es: {
    validation_error: "La validación de la solicitud falló.",
    unauthorized: "Se requiere autenticación o el token no es válido.",
    invalid_credentials: "El correo electrónico o la contraseña son incorrectos.",
    payment_declined: "El método de pago fue rechazado.",
    stripe_error: "La operación de pago falló.",
    stripe_not_connected: "El anfitrión no ha terminado de configurar sus cobros.",
    forbidden: "No tienes permiso para hacer esto.",
    not_found: "El recurso no existe.",
    link_not_found: "El enlace de llamada no existe.",
    method_not_allowed: "Este método no está permitido en este recurso.",
    conflict: "El recurso ya existe o fue modificado.",
    call_not_active: "La llamada no está activa.",
    idempotency_key_reused: "Esta clave de idempotencia ya se usó con una solicitud diferente.",
    link_unavailable: "El enlace de llamada no se puede usar ahora.",
    payload_too_large: "El cuerpo de la solicitud es demasiado grande.",
    unsupported_media_type: "El tipo de contenido de la solicitud no es compatible.",
    rate_limited: "Demasiadas solicitudes. Inténtalo más tarde.",
    internal_error: "Ocurrió un error inesperado.",
    service_unavailable: "El servicio no está disponible temporalmente.",
  },
  fr: {
    validation_error: "La validation de la requête a échoué.",
    unauthorized: "Une authentification est requise ou le jeton est invalide.",
    invalid_credentials: "L'adresse e-mail ou le mot de passe est incorrect.",
    payment_declined: "Le moyen de paiement a été refusé.",
    stripe_error: "L'opération de paiement a échoué.",
    stripe_not_connected: "L'hôte n'a pas fini de configurer ses versements.",
    forbidden: "Vous n'avez pas la permission de faire cela.",
    not_found: "La ressource n'existe pas.",
    link_not_found: "Le lien d'appel n'existe pas.",
    method_not_allowed: "Cette méthode n'est pas autorisée sur cette ressource.",
    conflict: "La ressource existe déjà ou a été modifiée.",
    call_not_active: "L'appel n'est pas actif.",
    idempotency_key_reused: "Cette clé d'idempotence a déjà été utilisée avec une requête différente.",
    link_unavailable: "Le lien d'appel ne peut pas être utilisé maintenant.",
    payload_too_large: "Le corps de la requête est trop volumineux.",
    unsupported_media_type: "Le type de contenu de la requête n'est pas pris en charge.",
    rate_limited: "Trop de requêtes. Réessayez plus tard.",
    internal_error: "Une erreur inattendue s'est produite.",
    service_unavailable: "Le service est temporairement indisponible.",
  },
};

/** A weight as RFC 9110 writes it: 0 to 1 with at most three decimals. */
const WEIGHT = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i;

/**
 * RFC 9110 Accept-Language negotiation over the supported languages. A range names a language by
 * its primary subtag (`es-MX` asks for `es`) unless the language is named by itself, which then
 * decides; `*` stands for every language the header does not name otherwise; `q=0` refuses. An
 * element with a malformed weight is ignored. The highest weight wins, then the earlier element;
 * nothing acceptable falls back to English.
 */
export function negotiateLanguage(header: string | undefined): Language {
  if (!header) return "en";
  const named = new Map<Language, { q: number; order: number; exact: boolean }>();
  let star: { q: number; order: number } | undefined;
  header.split(",").forEach((part, order) => {
    const [tag, ...params] = part.split(";");
    const range = tag!.trim().toLowerCase();
    if (!range) return;
    let q = 1;
    for (const p of params) {
      const m = WEIGHT.exec(p);
      if (!m) return; // a malformed weight (or another parameter): the element means nothing
      q = Number(m[1]);
    }
    if (range === "*") {
      star ??= { q, order };
      return;
    }
    const lang = range.split("-")[0] as Language;
    if (!(LANGUAGES as readonly string[]).includes(lang)) return;
    // The range naming the language itself decides (q=0 included); else its best subtag range.
    const exact = range === lang;
    const seen = named.get(lang);
    if (!seen || (exact && !seen.exact) || (exact === seen.exact && q > seen.q)) named.set(lang, { q, order: seen?.order ?? order, exact });
  });
  let best: { lang: Language; q: number; order: number } | undefined;
  for (const lang of LANGUAGES) {
    const w = named.get(lang) ?? star;
    if (!w || w.q <= 0) continue;
    if (!best || w.q > best.q || (w.q === best.q && w.order < best.order)) best = { lang, q: w.q, order: w.order };
  }
  return best?.lang ?? "en";
}
