// The local camera and microphone. Asked for before anything is paid or joined, so that a refused
// permission costs nothing.

/**
 * Camera and microphone; the microphone alone when there is no camera (the call still works, the
 * other side just sees no picture). A refused permission is thrown (NotAllowedError).
 */
export async function openLocalMedia(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    // Browsers only offer the camera to secure pages (https, or http://localhost).
    throw new Error("This browser cannot use the camera here. Open the page over HTTPS, or in another browser.");
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch (err) {
    if (err instanceof DOMException && (err.name === "NotFoundError" || err.name === "OverconstrainedError")) {
      return navigator.mediaDevices.getUserMedia({ audio: true });
    }
    throw err;
  }
}

/** Releases the camera and microphone (the browser's "in use" indicator goes off). */
export function stopLocalMedia(stream: MediaStream | null): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
