// The mails in French (templates.ts says what each is given and how it is laid out).
import type { Templates } from "./templates.ts";

// French puts a no-break space before ":" (\u00a0) and a narrow one before ";" (\u202f).
export const fr: Templates = {
  footer: "Vidivo\u00a0: appels vidéo payants. Vous recevez cet e-mail car cette adresse a été utilisée sur Vidivo.",

  verify_email: ({ name, token, validForMs }, f) => ({
    subject: "Confirmez votre adresse e-mail",
    blocks: [
      `Bonjour ${name},`,
      `Confirmez l'adresse e-mail de votre compte Vidivo avec ce code (valable ${f.duration(validForMs)})\u00a0:`,
      { code: token },
      "Si vous n'avez pas créé de compte, vous pouvez ignorer ce message.",
    ],
  }),

  password_reset: ({ name, token, validForMs }, f) => ({
    subject: "Réinitialisez votre mot de passe",
    blocks: [
      `Bonjour ${name},`,
      `Quelqu'un a demandé à réinitialiser le mot de passe de votre compte Vidivo. Pour en choisir un nouveau, utilisez ce code (valable ${f.duration(validForMs)}, une seule fois)\u00a0:`,
      { code: token },
      "Si ce n'était pas vous, ignorez ce message\u00a0: votre mot de passe reste inchangé.",
    ],
  }),

  call_incoming: ({ name, guestName, shortCode, rateCents, windowMinutes, answerBy }, f) => ({
    subject: `${guestName} vous attend`,
    blocks: [
      `Bonjour ${name},`,
      `${guestName} attend sur votre lien d'appel ${shortCode}. Rejoignez l'appel avant ${f.time(answerBy)}\u202f; passé ce délai, il sera annulé et rien ne sera facturé.`,
      { rows: [["Tarif", `${f.money(rateCents)} par minute`], ["Période de facturation", f.duration(windowMinutes * 60_000)]] },
      "Vous pouvez désactiver ces e-mails dans vos préférences de notification.",
    ],
  }),

  call_missed: ({ name, guestName, shortCode, waitedFrom, answerWithinMs }, f) => ({
    subject: `Vous avez manqué un appel de ${guestName}`,
    blocks: [
      `Bonjour ${name},`,
      `${guestName} a attendu sur votre lien d'appel ${shortCode} à partir du ${f.dateTime(waitedFrom)}, et l'appel a été annulé car vous ne l'avez pas rejoint dans un délai de ${f.duration(answerWithinMs)}. Rien n'a été facturé.`,
      "Vous pouvez désactiver ces e-mails dans vos préférences de notification.",
    ],
  }),

  call_cancelled: ({ name, hostName, waitedFrom }, f) => ({
    subject: `${hostName} n'a pas pu prendre votre appel`,
    blocks: [
      `Bonjour ${name},`,
      `${hostName} n'a pas rejoint l'appel que vous avez lancé le ${f.dateTime(waitedFrom)}, il a donc été annulé. Rien n'a été facturé et le montant bloqué sur votre carte a été libéré.`,
    ],
  }),

  receipt: ({ name, hostName, callId, startedAt, endedAt, minutes, windows, rateCents, amountCents, card }, f) => ({
    subject: `Votre reçu pour l'appel avec ${hostName}\u00a0: ${f.money(amountCents)}`,
    blocks: [
      `Bonjour ${name},`,
      `Merci pour votre appel avec ${hostName}. Chaque minute entamée est facturée au tarif de l'hôte.`,
      {
        rows: [
          ["Appel", callId],
          ["Début", f.dateTime(startedAt)],
          ["Fin", f.dateTime(endedAt)],
          ["Minutes facturées", String(minutes)],
          ["Périodes de facturation", String(windows)],
          ["Tarif", `${f.money(rateCents)} par minute`],
          ...(card ? [["Carte", `${card.brand} •••• ${card.last4}`] as [string, string]] : []),
          ["Total facturé", f.money(amountCents)],
        ],
      },
    ],
  }),

  earnings: ({ name, guestName, callId, startedAt, minutes, grossCents, feeCents, netCents }, f) => ({
    subject: `Votre appel avec ${guestName} vous a rapporté ${f.money(netCents)}`,
    blocks: [
      `Bonjour ${name},`,
      `Votre appel avec ${guestName} du ${f.dateTime(startedAt)} a été payé.`,
      {
        rows: [
          ["Appel", callId],
          ["Minutes facturées", String(minutes)],
          ["Payé par l'invité", f.money(grossCents)],
          ["Frais de plateforme", f.money(feeCents)],
          ["Vos gains", f.money(netCents)],
        ],
      },
      "Vos gains arriveront sur votre compte avec le prochain versement.",
    ],
  }),
};
