/**
 * The shape of the constraint tables generated from AWS's service models (`model-constraints.ts`,
 * by scripts/gen-model-constraints.mjs); `request-validation.ts` reads them.
 */

/** A member's target shape, with its wire name when it differs. */
export type Ref = string | { readonly shape: string; readonly locationName?: string };

/** One shape of a generated constraint table. */
interface ShapeConstraints {
  readonly type: string;
  readonly required?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly flattened?: boolean;
  readonly members?: Readonly<Record<string, Ref>>;
  readonly member?: Ref;
  readonly key?: Ref;
  readonly value?: Ref;
}

/** The generated constraints of one service: each served operation's input shape (or null). */
export interface ServiceConstraints {
  readonly protocol: string;
  readonly operations: Readonly<Record<string, string | null>>;
  readonly shapes: Readonly<Record<string, ShapeConstraints>>;
}
