// The mails in Spanish (templates.ts says what each is given and how it is laid out).
import type { Templates } from "./templates.ts";

export const es: Templates = {
  footer: "Vidivo: videollamadas de pago. Recibes este correo electrónico porque esta dirección se usó en Vidivo.",

  verify_email: ({ name, token, validForMs }, f) => ({
    subject: "Confirma tu dirección de correo electrónico",
    blocks: [
      `Hola, ${name}:`,
      `Confirma la dirección de correo electrónico de tu cuenta de Vidivo con este código (válido durante ${f.duration(validForMs)}):`,
      { code: token },
      "Si no creaste una cuenta, puedes ignorar este mensaje.",
    ],
  }),

  password_reset: ({ name, token, validForMs }, f) => ({
    subject: "Restablece tu contraseña",
    blocks: [
      `Hola, ${name}:`,
      `Alguien pidió restablecer la contraseña de tu cuenta de Vidivo. Para elegir una nueva, usa este código (válido durante ${f.duration(validForMs)} y una sola vez):`,
      { code: token },
      "Si no fuiste tú, ignora este mensaje: tu contraseña seguirá siendo la misma.",
    ],
  }),

  call_incoming: ({ name, guestName, shortCode, rateCents, windowMinutes, answerBy }, f) => ({
    subject: `${guestName} te está esperando`,
    blocks: [
      `Hola, ${name}:`,
      `${guestName} está esperando en tu enlace de llamada ${shortCode}. Únete a la llamada antes de las ${f.time(answerBy)}; después se cancelará y no se cobrará nada.`,
      { rows: [["Tarifa", `${f.money(rateCents)} por minuto`], ["Periodo de facturación", f.duration(windowMinutes * 60_000)]] },
      "Puedes desactivar estos correos electrónicos en tus preferencias de notificación.",
    ],
  }),

  call_missed: ({ name, guestName, shortCode, waitedFrom, answerWithinMs }, f) => ({
    subject: `Te perdiste una llamada de ${guestName}`,
    blocks: [
      `Hola, ${name}:`,
      `${guestName} esperó en tu enlace de llamada ${shortCode} desde el ${f.dateTime(waitedFrom)}, y la llamada se canceló porque no te uniste en un plazo de ${f.duration(answerWithinMs)}. No se cobró nada.`,
      "Puedes desactivar estos correos electrónicos en tus preferencias de notificación.",
    ],
  }),

  call_cancelled: ({ name, hostName, waitedFrom }, f) => ({
    subject: `${hostName} no pudo atender tu llamada`,
    blocks: [
      `Hola, ${name}:`,
      `${hostName} no se unió a la llamada que iniciaste el ${f.dateTime(waitedFrom)}, así que se canceló. No se cobró nada y se liberó la retención en tu tarjeta.`,
    ],
  }),

  receipt: ({ name, hostName, callId, startedAt, endedAt, minutes, windows, rateCents, amountCents, card }, f) => ({
    subject: `Tu recibo de la llamada con ${hostName}: ${f.money(amountCents)}`,
    blocks: [
      `Hola, ${name}:`,
      `Gracias por tu llamada con ${hostName}. Cada minuto iniciado se cobra a la tarifa del anfitrión.`,
      {
        rows: [
          ["Llamada", callId],
          ["Inicio", f.dateTime(startedAt)],
          ["Fin", f.dateTime(endedAt)],
          ["Minutos cobrados", String(minutes)],
          ["Periodos de facturación", String(windows)],
          ["Tarifa", `${f.money(rateCents)} por minuto`],
          ...(card ? [["Tarjeta", `${card.brand} •••• ${card.last4}`] as [string, string]] : []),
          ["Total cobrado", f.money(amountCents)],
        ],
      },
    ],
  }),

  earnings: ({ name, guestName, callId, startedAt, minutes, grossCents, feeCents, netCents }, f) => ({
    subject: `Ganaste ${f.money(netCents)} por tu llamada con ${guestName}`,
    blocks: [
      `Hola, ${name}:`,
      `Tu llamada con ${guestName} del ${f.dateTime(startedAt)} ya se pagó.`,
      {
        rows: [
          ["Llamada", callId],
          ["Minutos cobrados", String(minutes)],
          ["Pagado por el invitado", f.money(grossCents)],
          ["Comisión de la plataforma", f.money(feeCents)],
          ["Tus ganancias", f.money(netCents)],
        ],
      },
      "Las ganancias llegarán a tu cuenta con el próximo pago.",
    ],
  }),
};
