// The mails in English (templates.ts says what each is given and how it is laid out).
import type { Templates } from "./templates.ts";

export const en: Templates = {
  footer: "Vidivo: paid video calls. You are receiving this e-mail because this address was used on Vidivo.",

  verify_email: ({ name, token, validForMs }, f) => ({
    subject: "Confirm your e-mail address",
    blocks: [
      `Hello ${name},`,
      `Confirm the e-mail address of your Vidivo account with this code (valid for ${f.duration(validForMs)}):`,
      { code: token },
      "If you did not create an account, you can ignore this message.",
    ],
  }),

  password_reset: ({ name, token, validForMs }, f) => ({
    subject: "Reset your password",
    blocks: [
      `Hello ${name},`,
      `Someone asked to reset the password of your Vidivo account. To choose a new one, use this code (valid for ${f.duration(validForMs)}, once):`,
      { code: token },
      "If it was not you, ignore this message: your password stays as it is.",
    ],
  }),

  call_incoming: ({ name, guestName, shortCode, rateCents, windowMinutes, answerBy }, f) => ({
    subject: `${guestName} is waiting for you`,
    blocks: [
      `Hello ${name},`,
      `${guestName} is waiting on your call link ${shortCode}. Join the call before ${f.time(answerBy)}; after that it is cancelled and nothing is charged.`,
      { rows: [["Rate", `${f.money(rateCents)} per minute`], ["Billing window", f.duration(windowMinutes * 60_000)]] },
      "You can turn these mails off in your notification preferences.",
    ],
  }),

  call_missed: ({ name, guestName, shortCode, waitedFrom, answerWithinMs }, f) => ({
    subject: `You missed a call from ${guestName}`,
    blocks: [
      `Hello ${name},`,
      `${guestName} waited on your call link ${shortCode} from ${f.dateTime(waitedFrom)}, and the call was cancelled because you did not join within ${f.duration(answerWithinMs)}. Nothing was charged.`,
      "You can turn these mails off in your notification preferences.",
    ],
  }),

  call_cancelled: ({ name, hostName, waitedFrom }, f) => ({
    subject: `${hostName} could not take your call`,
    blocks: [
      `Hello ${name},`,
      `${hostName} did not join the call you started at ${f.dateTime(waitedFrom)}, so it was cancelled. Nothing was charged, and the hold on your card was released.`,
    ],
  }),

  receipt: ({ name, hostName, callId, startedAt, endedAt, minutes, windows, rateCents, amountCents, card }, f) => ({
    subject: `Your receipt for the call with ${hostName}: ${f.money(amountCents)}`,
    blocks: [
      `Hello ${name},`,
      `Thank you for your call with ${hostName}. Each started minute is charged at the host's rate.`,
      {
        rows: [
          ["Call", callId],
          ["Started", f.dateTime(startedAt)],
          ["Ended", f.dateTime(endedAt)],
          ["Minutes charged", String(minutes)],
          ["Billing windows", String(windows)],
          ["Rate", `${f.money(rateCents)} per minute`],
          ...(card ? [["Card", `${card.brand} •••• ${card.last4}`] as [string, string]] : []),
          ["Total charged", f.money(amountCents)],
        ],
      },
    ],
  }),

  earnings: ({ name, guestName, callId, startedAt, minutes, grossCents, feeCents, netCents }, f) => ({
    subject: `You earned ${f.money(netCents)} from your call with ${guestName}`,
    blocks: [
      `Hello ${name},`,
      `Your call with ${guestName} on ${f.dateTime(startedAt)} has been paid.`,
      {
        rows: [
          ["Call", callId],
          ["Minutes charged", String(minutes)],
          ["Paid by the guest", f.money(grossCents)],
          ["Platform fee", f.money(feeCents)],
          ["Your earnings", f.money(netCents)],
        ],
      },
      "The earnings reach your account with the next payout.",
    ],
  }),
};
