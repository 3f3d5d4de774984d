package dev.kiln.ingestion.image;

import dev.kiln.model.events.RejectionReason;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Uploads, good and bad, each with the outcome a user should see. */
public final class UploadCorpus {
    /** One upload: its key, its bytes, and the expected rejection reason (null = accepted). */
    public record Upload(String name, String key, byte[] bytes, RejectionReason expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    private UploadCorpus() {
    }

    public static byte[] png() {
        return Fixtures.encode(Fixtures.gradient(64, 48), "png");
    }

    public static byte[] jpeg() {
        return Fixtures.encode(Fixtures.gradient(64, 48), "jpeg");
    }

    public static List<Upload> good() {
        String f = Fixtures.FOLDER;
        return List.of(
                new Upload("png", f + "a.png", png(), null),
                new Upload("jpeg with upper-case extension", f + "b.JPG", jpeg(), null),
                new Upload("png named .jpg", f + "c.jpg", png(), null),
                new Upload("jpeg named .Webp", f + "d.Webp", jpeg(), null),
                new Upload("lossy webp", f + "e.WEBP", Fixtures.resource("lossy.webp"), null),
                new Upload("bmp", f + "f.bmp", Fixtures.resource("rgb.bmp"), null),
                new Upload("png with data after IEND", f + "g.png", concat(png(), "trailing".getBytes(StandardCharsets.US_ASCII)), null),
                new Upload("regularization image", "datasets/cats/reg/1_cat/h.png", png(), null));
    }

    public static List<Upload> bad() {
        String f = Fixtures.FOLDER;
        byte[] png = png();
        byte[] jpeg = jpeg();
        List<Upload> bad = new ArrayList<>();
        bad.add(new Upload("empty object", f + "empty.png", new byte[0], RejectionReason.EMPTY_OBJECT));
        bad.add(new Upload("one byte", f + "one.jpg", new byte[] {(byte) 0xff}, RejectionReason.CORRUPT));
        bad.add(new Upload("one text byte", f + "x.png", new byte[] {'x'}, RejectionReason.NOT_AN_IMAGE));
        bad.add(new Upload("truncated png", f + "cut.png", Arrays.copyOf(png, png.length / 2), RejectionReason.CORRUPT));
        bad.add(new Upload("jpeg cut inside its header", f + "cut.jpg", Arrays.copyOf(jpeg, jpeg.length / 2), RejectionReason.CORRUPT));
        byte[] photo = Fixtures.encode(noise(256, 256), "jpeg");
        bad.add(new Upload("jpeg cut inside its image data", f + "cut2.jpg", Arrays.copyOf(photo, photo.length * 2 / 3), RejectionReason.CORRUPT));
        bad.add(new Upload("jpeg without its last bytes", f + "cut3.jpg", Arrays.copyOf(photo, photo.length - 2), RejectionReason.CORRUPT));
        bad.add(new Upload("png with damaged IDAT data", f + "idat1.png", flipIdatByte(png, false), RejectionReason.CORRUPT));
        bad.add(new Upload("png with a wrong CRC only", f + "crc.png", wrongLastCrc(png), RejectionReason.CORRUPT));
        bad.add(new Upload("png with garbage IDAT and a matching CRC", f + "idat.png", flipIdatByte(png, true), RejectionReason.CORRUPT));
        bad.add(new Upload("png header 100000x100000", f + "huge.png", Fixtures.pngHeader(100_000, 100_000,
                Fixtures.pngChunk("IDAT", new byte[16])), RejectionReason.TOO_LARGE));
        bad.add(new Upload("png header 0x16", f + "zero.png", Fixtures.pngHeader(0, 16,
                Fixtures.pngChunk("IDAT", new byte[16])), RejectionReason.CORRUPT));
        bad.add(new Upload("png signature then junk", f + "junk.png", concat(Arrays.copyOf(png, 8), new byte[40]), RejectionReason.CORRUPT));
        bad.add(new Upload("jpeg start then junk", f + "junk.jpg", concat(Arrays.copyOf(jpeg, 3), new byte[200]), RejectionReason.CORRUPT));
        bad.add(new Upload("truncated webp", f + "cut.webp", cut(Fixtures.resource("lossless.webp"), 40), RejectionReason.CORRUPT));
        bad.add(new Upload("truncated bmp", f + "cut.bmp", cut(Fixtures.resource("rgb.bmp"), 200), RejectionReason.CORRUPT));
        bad.add(new Upload("gif", f + "anim.png", Fixtures.encode(indexed(), "gif"), RejectionReason.UNSUPPORTED_FORMAT));
        bad.add(new Upload("tiff", f + "scan.jpg", Fixtures.encode(Fixtures.gradient(8, 8), "tiff"), RejectionReason.UNSUPPORTED_FORMAT));
        bad.add(new Upload("svg", f + "logo.png", ascii("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>"),
                RejectionReason.UNSUPPORTED_FORMAT));
        bad.add(new Upload("avif", f + "photo.webp", concat(new byte[] {0, 0, 0, 0x1c}, ascii("ftypavif"), new byte[20]),
                RejectionReason.UNSUPPORTED_FORMAT));
        bad.add(new Upload("html renamed .png", f + "page.png", ascii("<!DOCTYPE html><html><body>404</body></html>"), RejectionReason.NOT_AN_IMAGE));
        bad.add(new Upload("text renamed .webp", f + "notes.webp", ascii("just some notes\n"), RejectionReason.NOT_AN_IMAGE));
        bad.add(new Upload("zip renamed .jpg", f + "archive.jpg", zip(), RejectionReason.NOT_AN_IMAGE));
        bad.add(new Upload("wav renamed .webp", f + "sound.webp", concat(ascii("RIFF"), new byte[] {36, 0, 0, 0}, ascii("WAVEfmt "), new byte[24]),
                RejectionReason.NOT_AN_IMAGE));
        bad.add(new Upload("hidden file", f + ".foo.png", png, RejectionReason.HIDDEN_FILE));
        bad.add(new Upload("unsafe key", "datasets/cats/10_sks cat/../../x.png", png, RejectionReason.UNSAFE_KEY));
        bad.add(new Upload("folder without repeats", "datasets/cats/cats/a.png", png, RejectionReason.BAD_FOLDER_NAME));
        bad.add(new Upload("image at the dataset root", "datasets/cats/a.png", png, RejectionReason.NOT_IN_SUBSET_FOLDER));
        return bad;
    }

    /** A copy of a PNG with one byte of its first IDAT's data changed; optionally the CRC fixed to match. */
    static byte[] flipIdatByte(byte[] png, boolean fixCrc) {
        byte[] copy = png.clone();
        int pos = 8;
        while (pos < copy.length) {
            int length = (copy[pos] & 0xff) << 24 | (copy[pos + 1] & 0xff) << 16 | (copy[pos + 2] & 0xff) << 8 | (copy[pos + 3] & 0xff);
            String type = new String(copy, pos + 4, 4, StandardCharsets.ISO_8859_1);
            if (type.equals("IDAT")) {
                int data = pos + 8;
                for (int i = data + 2; i < data + Math.min(length, 40); i++) {
                    copy[i] ^= (byte) 0x5a; // past the 2-byte zlib header: the deflate stream itself
                }
                if (fixCrc) {
                    byte[] chunk = Fixtures.pngChunk("IDAT", Arrays.copyOfRange(copy, data, data + length));
                    System.arraycopy(chunk, 0, copy, pos, chunk.length);
                }
                return copy;
            }
            pos += 12 + length;
        }
        throw new IllegalArgumentException("no IDAT chunk");
    }

    /** A copy of a PNG whose IEND CRC is wrong: the pixels still decode, only the CRC check can tell. */
    static byte[] wrongLastCrc(byte[] png) {
        byte[] copy = png.clone();
        copy[copy.length - 1] ^= 1;
        return copy;
    }

    /** Pseudo-random pixels, so a JPEG of it has plenty of entropy-coded data to cut into. */
    static BufferedImage noise(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        java.util.Random random = new java.util.Random(42);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt(0x1000000));
            }
        }
        return image;
    }

    static BufferedImage indexed() {
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_INDEXED);
        image.getGraphics().drawImage(Fixtures.gradient(8, 8), 0, 0, null);
        return image;
    }

    static byte[] zip() {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(out)) {
                zip.putNextEntry(new ZipEntry("a.png"));
                zip.write(png());
                zip.closeEntry();
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] cut(byte[] bytes, int keep) {
        if (keep >= bytes.length) {
            throw new IllegalArgumentException("fixture of " + bytes.length + " bytes is too short to cut at " + keep);
        }
        return Arrays.copyOf(bytes, keep);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
