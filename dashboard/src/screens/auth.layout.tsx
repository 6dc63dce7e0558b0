/** The frame of the signed-out screens: brand, a card, and links between them. */
import type { ReactNode } from 'react';

export function AuthLayout({
  title,
  children,
  footer,
}: {
  title: string;
  children: ReactNode;
  footer?: ReactNode;
}) {
  return (
    <main className="auth-screen">
      <div className="auth-card">
        <div className="auth-brand">
          <svg viewBox="0 0 32 32" width="34" height="34" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="#0f172a" />
            <path d="M16 5l9 4v6c0 6-4 10-9 12-5-2-9-6-9-12V9z" fill="#38bdf8" />
          </svg>
          <span>Igris Edge</span>
        </div>
        <h1>{title}</h1>
        {children}
        {footer ? <div className="auth-footer">{footer}</div> : null}
      </div>
    </main>
  );
}
