// PIN lock: keeps onlookers out of the app on this device. Only a PBKDF2
// hash is stored; PIN_TRIES wrong PINs in a row erase the device's copy
// and sign out. The app locks when opened and when it comes back from the
// background after the time the person chose.
import { t } from "./i18n.js";

export const PIN_TRIES = 5;
const ITERATIONS = 200000;
export const LOCK_AFTER = [0, 60000, 300000]; // the choices offered, in ms
export const DEFAULT_LOCK_AFTER = 60000;

const $ = (id) => document.getElementById(id);

async function pinHash(pin, salt, iterations) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return Array.from(new Uint8Array(bits), (x) => x.toString(16).padStart(2, "0")).join("");
}

export async function newPin(pin, lockAfter) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { salt, iterations: ITERATIONS, hash: await pinHash(pin, salt, ITERATIONS), failures: 0, lockAfter };
}

export const validPin = (pin) => /^[0-9]{4,8}$/.test(pin);

// askPin shows the lock screen until the right PIN is entered. It resolves
// true when unlocked, false when the device is to be wiped (too many wrong
// PINs, or the person chose to sign in again). save persists the failure
// count, so that closing the app does not reset it.
export function askPin(pin, save) {
  $("pin").value = "";
  $("lock-error").textContent = "";
  const rule = () => pin.failures ? t("pinWrong", { left: PIN_TRIES - pin.failures }) : t("pinRule", { max: PIN_TRIES });
  $("lock-rule").textContent = rule();
  const reset = $("pin-reset");
  reset.textContent = t("pinReset");
  delete reset.dataset.armed;
  return new Promise((resolve) => {
    reset.onclick = () => {
      // Two steps: the first tap says what the second does.
      if (!reset.dataset.armed) {
        reset.dataset.armed = "1";
        reset.textContent = t("pinResetConfirm");
        return;
      }
      resolve(false);
    };
    $("lock-form").onsubmit = async (ev) => {
      ev.preventDefault();
      const entered = $("pin").value;
      $("pin").value = "";
      if (await pinHash(entered, pin.salt, pin.iterations) === pin.hash) {
        pin.failures = 0;
        await save(pin);
        resolve(true);
        return;
      }
      pin.failures = (pin.failures || 0) + 1;
      await save(pin);
      if (pin.failures >= PIN_TRIES) {
        resolve(false);
        return;
      }
      $("lock-error").textContent = t("pinWrong", { left: PIN_TRIES - pin.failures });
      $("lock-rule").textContent = rule();
      $("pin").focus();
    };
  });
}
