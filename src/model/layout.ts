// Services declared rather than found under docker/build: by `services:` in dockmk.yml or by the
// targets of a bake file. Each names its Dockerfile, its build context (a directory of the
// checkout), its build args and the named contexts its FROM, COPY --from and RUN --mount=from
// lines resolve through, as `docker buildx bake` has them. discover/ produces these; model/
// owns the types.

/** What a name in FROM / COPY --from / RUN --mount=from stands for, as a bake `contexts` value. */
export type ContextValue =
  /** `target:<name>`, or in dockmk.yml a service's name: that service's image. */
  | { readonly kind: 'service'; readonly service: string }
  /** `docker-image://<ref>`: that image instead. */
  | { readonly kind: 'image'; readonly image: string }
  /** A local directory or a URL: a context of files, which dockmk does not send (a warning). */
  | { readonly kind: 'other'; readonly value: string };

export interface ServiceSpec {
  readonly name: string;
  /** The Dockerfile, relative to the checkout root. */
  readonly dockerfile: string;
  /** The build context, relative to the checkout root ('.' is the root, as in the legacy layout). */
  readonly context: string;
  readonly args: Readonly<Record<string, string>>;
  readonly contexts: Readonly<Record<string, ContextValue>>;
  /** The tags the bake file gives it (shown, not pushed: publishing names images by namespace). */
  readonly tags: readonly string[];
  /** Where it is declared, for messages: `dockmk.yml:12`, `images/docker-bake.hcl: target "base"`. */
  readonly origin: string;
}

export interface LayoutWarning {
  readonly file: string;
  readonly message: string;
}

/** The services a dockmk.yml or bake file declares, the groups that select them, and what it left out. */
export interface ServiceLayout {
  /** 'services' (dockmk.yml) or 'bake'. */
  readonly kind: 'services' | 'bake';
  /** The file that declares them. */
  readonly file: string;
  readonly specs: readonly ServiceSpec[];
  /** Group name → service names (a bake file's `group` blocks, nested groups expanded). */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly warnings: readonly LayoutWarning[];
}
