import { z } from "zod";

export const MAX_PORTRAIT_BYTES = 2 * 1024 * 1024;
/** One liveness frame: smaller than a portrait (the capture page sends several). */
export const MAX_FRAME_BYTES = 256 * 1024;

/** An image at an input edge: base64 of a PNG or JPEG of at most `maxBytes` (decodability is checked later). */
export const imageBase64Schema = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil((maxBytes * 4) / 3) + 4, `larger than ${maxBytes} bytes`)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
    .superRefine((v, ctx) => {
      const b = Buffer.from(v, "base64");
      const png = b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const jpeg = b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
      if (!png && !jpeg) ctx.addIssue({ code: "custom", message: "must be a PNG or JPEG image" });
    });

/** A portrait at an input edge: base64 of a PNG or JPEG of at most 2 MiB. */
export const portraitBase64Schema = imageBase64Schema(MAX_PORTRAIT_BYTES);
