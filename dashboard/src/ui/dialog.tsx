/**
 * Modal dialogs on the native <dialog> element: focus is trapped, Escape closes, and the page
 * behind is inert — keyboard users get all of that from the browser.
 */
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { InlineError } from './states';

interface DialogProps {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
}

export function Dialog({ open, title, onClose, children, className }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className={`dialog ${className ?? ''}`} aria-label={title} onClose={onClose}>
      {open ? (
        <>
          <h2 className="dialog-title">{title}</h2>
          {children}
        </>
      ) : null}
    </dialog>
  );
}

interface ConfirmProps {
  open: boolean;
  title: string;
  /** What exactly will happen: named resources, not "are you sure?". */
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  /** When set, the person must type this text to enable the button (deletes, org-wide switches). */
  typeToConfirm?: string;
  onConfirm: () => Promise<unknown>;
  onClose: () => void;
}

export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  typeToConfirm,
  onConfirm,
  onClose,
}: ConfirmProps) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (open) {
      setTyped('');
      setError(null);
      setBusy(false);
    }
  }, [open]);
  const blocked = typeToConfirm !== undefined && typed !== typeToConfirm;
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <div className="dialog-body">{children}</div>
      {typeToConfirm !== undefined ? (
        <div className="field">
          <label htmlFor="confirm-typed">
            Type <code>{typeToConfirm}</code> to confirm
          </label>
          <input
            id="confirm-typed"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
          />
        </div>
      ) : null}
      <InlineError error={error} />
      <div className="dialog-actions">
        <button type="button" className="btn" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className={`btn ${danger ? 'btn-danger' : 'btn-primary'}`}
          disabled={blocked || busy}
          onClick={() => void confirm()}
        >
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
