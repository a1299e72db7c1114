/**
 * A modal dialog on the native <dialog> element: showModal() traps focus and makes the page
 * behind it inert, Escape closes it (the "cancel" event), and focus returns where it was.
 */
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';

let nextId = 0;

export function Dialog({ title, onClose, children, wide = false }) {
  const ref = useRef(null);
  const id = useRef(`dialog-${++nextId}`);
  useEffect(() => {
    const dialog = ref.current;
    const returnTo = document.activeElement;
    dialog.showModal();
    const onCancel = (event) => {
      event.preventDefault();
      onClose();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => {
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (returnTo instanceof HTMLElement) returnTo.focus();
    };
  }, []);
  return html`<dialog ref=${ref} class=${wide ? 'wide' : ''} aria-labelledby=${id.current}>
    <h2 id=${id.current}>${title}</h2>
    ${children}
  </dialog>`;
}

export function ConfirmDialog({ title, confirmLabel = 'OK', onConfirm, onCancel, children }) {
  return html`<${Dialog} title=${title} onClose=${onCancel}>
    ${children}
    <div class="dialog-buttons">
      <button type="button" class="danger" onClick=${onConfirm}>${confirmLabel}</button>
      <button type="button" class="secondary" onClick=${onCancel} autofocus>Cancel</button>
    </div>
  <//>`;
}
