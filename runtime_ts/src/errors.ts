/**
 * Every error the runtime raises on purpose is an {@link MbjaError}, so a caller catches one type.
 * Third-party failures (onnxruntime, fetch, crypto) are wrapped, never leaked; the original is the
 * `cause`. The same hierarchy as the Python (`mbja_runtime.errors`) and Kotlin (`io.mbja`) runtimes.
 */
export class MbjaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The bundle is missing, incomplete, tampered with, of a newer format or of another task. `file`
 *  names the offending file (or the bundle itself) when there is one; the message names it too. */
export class BundleError extends MbjaError {
  readonly file: string | undefined;
  constructor(message: string, file?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/** Text the tokenizer cannot process as the reference does (a lone surrogate, MeCab's look-ahead
 *  cutting a character in half), or invalid tokenizer arguments. */
export class TokenizerError extends MbjaError {}

/** The called task is not the one the bundle's model was built for. */
export class TaskMismatchError extends MbjaError {
  readonly requested: string;
  readonly bundleTask: string;
  constructor(requested: string, bundleTask: string) {
    super(`this bundle is a ${bundleTask} model; ${requested} results need a bundle built with --task ${requested}`);
    this.requested = requested;
    this.bundleTask = bundleTask;
  }
}
