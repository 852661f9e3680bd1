// A sound and, when the agent allowed them, a browser notification for a new chatroom in the
// queue, one offered to the agent or handed to them by another, or a new visitor message in a
// chatroom the agent is not looking at.

import type { Alert } from "./live";
import { strings } from "./strings";

const t = strings.alerts;

let audio: AudioContext | null = null;

function chime() {
  try {
    audio ??= new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.35);
  } catch {
    // No sound before the page was touched, or no audio at all: the list still shows it.
  }
}

export function alert(event: Alert, viewing: string | null) {
  if (
    event.kind === "message" &&
    event.chatroom.chatroomId === viewing &&
    document.visibilityState === "visible"
  ) {
    return;
  }
  chime();
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  const who = t.queuedBody(event.chatroom.name, event.chatroom.email);
  const { title, body } =
    event.kind === "message"
      ? { title: t.wrote(event.chatroom.name), body: event.message.text.slice(0, 120) }
      : { title: t[event.kind], body: who };
  new Notification(title, { body, tag: event.chatroom.chatroomId });
}

/** Asks once, from a click (browsers refuse otherwise). */
export function askForNotifications() {
  if (typeof Notification !== "undefined" && Notification.permission === "default")
    void Notification.requestPermission();
}
