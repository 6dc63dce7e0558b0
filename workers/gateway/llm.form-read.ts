/**
 * A form body of an LLM call, read once with the runtime's parser and re-encoded: what the gateway
 * decides on (a transcription's model, a passthrough form's `model` fields and batch file, the texts
 * content inspection reads) is what it forwards (workers/llm/llm.form-reencode.ts says why).
 *
 *   multipart/form-data                  a transcription upload, or a passthrough body: parsed
 *                                        (FormData), forwarded as the runtime serializes its entries;
 *   application/x-www-form-urlencoded    a passthrough body (or a transcription sent so): its fields,
 *                                        forwarded as the runtime serializes them.
 * Any other body is not a form and is forwarded as before (a JSON body as the gateway serializes it,
 * a passthrough body of another type as sent, read by llm.passthrough-model.ts and inspection as a
 * provider would read it).
 */
import { AppError } from '../lib/errors';
import { reencodeMultipart, reencodeUrlencoded, urlencodedEntries } from '../llm/llm.form-reencode';
import { boundaryFault, partHeadersFault } from '../llm/llm.multipart-type';
import { jsonObjectBody } from '../llm/llm.passthrough-model';

export interface ReadForm {
  /** The form as parsed (a URL-encoded one as FormData too: its fields are strings). */
  form: FormData;
  /** The caller's body was multipart (a FormData of files); else URL-encoded. */
  multipart: boolean;
  /** What is forwarded in place of the caller's bytes, and its Content-Type. */
  bytes: Uint8Array;
  contentType: string;
}

const typeOf = (request: Request) => (request.headers.get('Content-Type') ?? '').toLowerCase();

export const isMultipart = (request: Request) => typeOf(request).startsWith('multipart/form-data');

const isUrlencoded = (request: Request) => typeOf(request).startsWith('application/x-www-form-urlencoded');

/**
 * The form a body holds, re-encoded; null when the body is not read as a form — `upload`: the
 * endpoint's body is a form by definition (a transcription: whatever its type, parsed as one or
 * refused, as before); otherwise only a non-empty body typed as a form is.
 */
export async function readFormBody(
  raw: Uint8Array | null,
  request: Request,
  upload: boolean,
  maxBytes: number,
): Promise<ReadForm | null> {
  if (!raw || (!upload && (raw.byteLength === 0 || !(isMultipart(request) || isUrlencoded(request)))))
    return null;
  if (!upload && isUrlencoded(request)) {
    // A JSON object typed as a form (`curl -d '{…}'`): the gateway would read one field named by the
    // whole text, a lenient server the JSON — refused, not guessed at (send it as application/json).
    if (jsonObjectBody(raw))
      throw new AppError('validation_failed', {
        message:
          'The body is a JSON object typed application/x-www-form-urlencoded: servers read it either way; send it as application/json',
        details: { location: 'header', path: 'content-type' },
      });
    const entries = urlencodedEntries(raw);
    const form = new FormData();
    for (const [name, value] of entries) form.append(name, value);
    return { form, multipart: false, ...reencodeUrlencoded(entries, maxBytes) };
  }
  const form = await readForm(raw, request);
  if (isMultipart(request)) {
    const fault = partNameFault(form);
    if (fault) throw fault;
    return { form, multipart: true, ...(await reencodeMultipart(form, maxBytes)) };
  }
  // A transcription sent URL-encoded (the runtime's parser reads that too): its fields, as they are.
  const entries = [...form.entries()].map(
    ([n, v]) => [n, typeof v === 'string' ? v : ''] as [string, string],
  );
  return { form, multipart: false, ...reencodeUrlencoded(entries, maxBytes) };
}

/**
 * A part name the re-encoding cannot carry as read: the runtime writes `"`, CR and LF in a name as
 * `%22`, `%0D`, `%0A` (the HTML form encoding), which a parser reads literally — and a parser that
 * percent-decodes names would read `%6Dodel` (no model to the gateway) as `model`. No API names a
 * field so; refused rather than forwarded under a name the gateway did not read.
 */
function partNameFault(form: FormData): AppError | null {
  for (const name of form.keys())
    if (/["%\r\n]/.test(name))
      return new AppError('validation_failed', {
        message:
          'A multipart/form-data part name holds a quote, a percent sign or a line break: parsers would read it differently',
        details: { location: 'body' },
      });
  return null;
}

/** A multipart upload, read with the runtime's parser. */
async function readForm(bytes: Uint8Array, request: Request): Promise<FormData> {
  // Two boundaries, or a part's headers spelled twice: parsers would read another form
  // (llm.multipart-type.ts). The re-encoding makes the provider read the gateway's form anyway;
  // these stay refused as a second line (a body no client writes is not guessed at).
  const type = request.headers.get('Content-Type') ?? '';
  const fault = boundaryFault(type) ?? partHeadersFault(bytes, type);
  if (fault) throw fault;
  try {
    return await new Response(bytes, { headers: { 'Content-Type': type } }).formData();
  } catch {
    throw new AppError('validation_failed', {
      message: 'Request body is not valid multipart/form-data',
      details: { location: 'body' },
    });
  }
}
