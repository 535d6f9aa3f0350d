/**
 * The confirmation dialog of every action that changes the field (docs/ui.md, "Talking to the server"): it says
 * what will happen, asks once, then shows the server's answer: pending, then succeeded or failed
 * with the reason. Never an optimistic success: "succeeded" appears only after the server (and,
 * for lighting, the concentrator behind it) answered.
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api.js';
import { kt } from './i18n.js';

type Phase =
  | { kind: 'ask' }
  | { kind: 'pending' }
  | { kind: 'succeeded'; detail: string | null }
  | { kind: 'failed'; error: unknown };

export function ConfirmDialog(props: {
  testid: string;
  title: ComponentChildren;
  /** What will happen, in words: "Lamp 3 will be switched off for 1 hour." */
  what: ComponentChildren;
  confirmLabel?: string;
  /** False while the form inside is invalid. */
  canConfirm?: boolean;
  danger?: boolean;
  /** Does the thing; resolves with an optional detail for the success line, rejects on refusal. */
  onConfirm: () => Promise<string | null>;
  /** Closed, after success (true) or not (false). */
  onClose: (succeeded: boolean) => void;
  children?: ComponentChildren;
}): JSX.Element {
  const [phase, setPhase] = useState<Phase>({ kind: 'ask' });
  const dialog = useRef<HTMLDivElement>(null);
  const succeeded = phase.kind === 'succeeded';

  const close = (): void => {
    if (phase.kind !== 'pending') props.onClose(succeeded);
  };

  useEffect(() => {
    const first = dialog.current?.querySelector<HTMLElement>('input, select, textarea, button.primary');
    first?.focus();
  }, []);

  useEffect(() => {
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const confirm = (event: Event): void => {
    event.preventDefault();
    if (props.canConfirm === false || phase.kind === 'pending') return;
    setPhase({ kind: 'pending' });
    props.onConfirm().then(
      (detail) => setPhase({ kind: 'succeeded', detail }),
      (error: unknown) => setPhase({ kind: 'failed', error }),
    );
  };

  return (
    <div class="dialog-backdrop">
      <div
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${props.testid}-title`}
        data-testid={props.testid}
        ref={dialog}
      >
        <h2 id={`${props.testid}-title`}>{props.title}</h2>
        <form onSubmit={confirm}>
          <p class="what" data-testid="confirm-what">
            {props.what}
          </p>
          {props.children !== undefined && (
            <fieldset class="stack plain" disabled={phase.kind !== 'ask' && phase.kind !== 'failed'}>
              {props.children}
            </fieldset>
          )}
          <div data-testid="confirm-result" data-phase={phase.kind} aria-live="polite">
            {phase.kind === 'pending' && <p class="notice">{kt('confirm.pending')}</p>}
            {phase.kind === 'succeeded' && (
              <p class="notice ok">
                {kt('confirm.succeeded')}
                {phase.detail !== null && <> · {phase.detail}</>}
              </p>
            )}
            {phase.kind === 'failed' && (
              <p class="notice error" role="alert">
                {kt('confirm.failed', { message: errorText(phase.error) })}
              </p>
            )}
          </div>
          <div class="actions">
            {succeeded ? (
              <button type="button" class="primary" onClick={close} data-testid="confirm-close">
                {kt('confirm.close')}
              </button>
            ) : (
              <>
                <button
                  type="button"
                  onClick={close}
                  disabled={phase.kind === 'pending'}
                  data-testid="confirm-cancel"
                >
                  {kt('confirm.cancel')}
                </button>
                <button
                  type="submit"
                  class={props.danger === true ? 'primary danger-fill' : 'primary'}
                  disabled={props.canConfirm === false || phase.kind === 'pending'}
                  data-testid="confirm-ok"
                >
                  {props.confirmLabel ?? kt('confirm.ok')}
                </button>
              </>
            )}
          </div>
        </form>
      </div>
    </div>
  );
}
