package dev.kiln.ingestion.image;

import dev.kiln.model.events.ColorMode;
import dev.kiln.model.events.ImageFormat;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Decodes one image of a known format from a stream in two steps: {@link #readHeader} (size and channels, no
 * pixels) and {@link #decode} (every pixel, so truncated or corrupt data shows). PNG and BMP use the JDK's
 * readers, WebP TwelveMonkeys' reader (the JDK has none); JPEG uses the JDK's reader for raw samples and libjpeg's own colour
 * conversions ({@link JpegSamples}), which is what Pillow does.
 */
final class ImageDecoder implements AutoCloseable {
    /** What the header says, before any pixel is decoded. */
    record Header(int width, int height, ColorMode colorMode, int bitDepth) {
    }

    /** How libjpeg reads a JPEG's components (jdapimin.c default_decompress_parms). */
    private enum JpegColorSpace { GRAY, YCBCR, RGB, CMYK, YCCK }

    private static final String JPEG_METADATA = "javax_imageio_jpeg_image_1.0";

    private final ImageFormat format;
    private final ImageReader reader;
    private final ImageInputStream input;
    private final List<String> warnings = new ArrayList<>();
    private JpegColorSpace jpegColorSpace;

    ImageDecoder(ImageFormat format, InputStream in) {
        this.format = format;
        this.reader = newReader(format);
        this.input = new MemoryCacheImageInputStream(in);
        // JPEG metadata tells CMYK from YCCK; the other formats need none
        reader.setInput(input, true, format != ImageFormat.JPEG);
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
    }

    /**
     * Size and colour mode from the header.
     *
     * @param pngIhdr for PNG, the first 26+ bytes of the file (its IHDR states bit depth and colour type exactly)
     */
    Header readHeader(byte[] pngIhdr) throws IOException {
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        return switch (format) {
            case PNG -> pngHeader(width, height, pngIhdr);
            case JPEG -> jpegHeader(width, height);
            case WEBP, BMP -> typeHeader(width, height, reader.getRawImageType(0));
        };
    }

    /**
     * Every pixel: as stored for PNG, WebP and BMP; already converted to RGB for JPEG (see {@link RgbConverter}).
     *
     * @throws CorruptDataException when the decoder warns that the data ended early
     */
    BufferedImage decode() throws IOException {
        BufferedImage image;
        if (format == ImageFormat.JPEG) {
            image = decodeJpeg();
        } else {
            image = reader.read(0);
        }
        checkWarnings();
        return image;
    }

    /**
     * Every pixel decoded, none converted: enough to know the data is whole (a JPEG's raw samples cost about half
     * of a decode to RGB).
     *
     * @throws CorruptDataException when the decoder warns that the data ended early
     */
    void verify() throws IOException {
        if (format == ImageFormat.JPEG) {
            reader.readRaster(0, null);
        } else {
            reader.read(0);
        }
        checkWarnings();
    }

    private void checkWarnings() throws CorruptDataException {
        for (String warning : warnings) {
            if (meansCorrupt(warning)) {
                throw new CorruptDataException(warning);
            }
        }
    }

    @Override
    public void close() throws IOException {
        reader.dispose();
        input.close();
    }

    /** Readers are made per image: an ImageReader is not thread-safe. */
    private static ImageReader newReader(ImageFormat format) {
        String name = format.name().toLowerCase(Locale.ROOT);
        ImageReader reader = pick(name);
        if (reader == null) {
            ImageIO.scanForPlugins(); // plugin jars missed by a class loader that was not the context one
            reader = pick(name);
        }
        if (reader == null) {
            throw new IllegalStateException("no ImageIO reader for " + name + " (imageio-webp missing from the class path?)");
        }
        return reader;
    }

    /** The JDK's own reader where there is one (the one whose behaviour Kiln tests), else any. */
    private static ImageReader pick(String formatName) {
        ImageReader chosen = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(formatName); it.hasNext(); ) {
            ImageReader candidate = it.next();
            if (chosen == null || candidate.getClass().getName().startsWith("com.sun.imageio.")) {
                chosen = candidate;
            }
        }
        return chosen;
    }

    private static Header pngHeader(int width, int height, byte[] ihdr) {
        int bitDepth = ihdr[24] & 0xff;
        ColorMode mode = switch (ihdr[25]) {
            case 0 -> ColorMode.GRAY;
            case 2 -> ColorMode.RGB;
            case 3 -> ColorMode.PALETTE;
            case 4 -> ColorMode.GRAY_ALPHA;
            case 6 -> ColorMode.RGBA;
            default -> throw new IllegalStateException("colour type checked before");
        };
        return new Header(width, height, mode, bitDepth);
    }

    private static Header typeHeader(int width, int height, ImageTypeSpecifier type) throws IIOException {
        if (type == null) {
            throw new IIOException("the header names no pixel layout");
        }
        ColorModel cm = type.getColorModel();
        if (cm instanceof IndexColorModel) {
            return new Header(width, height, ColorMode.PALETTE, cm.getPixelSize());
        }
        ColorMode mode = switch (cm.getNumComponents()) {
            case 1 -> ColorMode.GRAY;
            case 2 -> ColorMode.GRAY_ALPHA;
            case 3 -> ColorMode.RGB;
            default -> cm.hasAlpha() ? ColorMode.RGBA : ColorMode.CMYK;
        };
        return new Header(width, height, mode, cm.getComponentSize(0));
    }

    private Header jpegHeader(int width, int height) throws IOException {
        IIOMetadata metadata = reader.getImageMetadata(0);
        Element root = (Element) metadata.getAsTree(JPEG_METADATA);
        Element sof = first(root, "sof");
        if (sof == null) {
            throw new IIOException("no start-of-frame marker");
        }
        int precision = Integer.parseInt(sof.getAttribute("samplePrecision"));
        NodeList components = sof.getElementsByTagName("componentSpec");
        boolean jfif = first(root, "app0JFIF") != null;
        Element adobe = first(root, "app14Adobe");
        Integer transform = adobe == null ? null : Integer.valueOf(adobe.getAttribute("transform"));
        jpegColorSpace = switch (components.getLength()) {
            case 1 -> JpegColorSpace.GRAY;
            case 3 -> threeComponentSpace(jfif, transform, components);
            case 4 -> transform == null || transform == 0 ? JpegColorSpace.CMYK : JpegColorSpace.YCCK;
            default -> throw new IIOException(components.getLength() + " colour components (1, 3 or 4 are readable)");
        };
        ColorMode mode = switch (jpegColorSpace) {
            case GRAY -> ColorMode.GRAY;
            case YCBCR, RGB -> ColorMode.RGB;
            case CMYK, YCCK -> ColorMode.CMYK;
        };
        return new Header(width, height, mode, precision);
    }

    private static JpegColorSpace threeComponentSpace(boolean jfif, Integer adobeTransform, NodeList components) {
        if (jfif) {
            return JpegColorSpace.YCBCR;
        }
        if (adobeTransform != null) {
            return adobeTransform == 0 ? JpegColorSpace.RGB : JpegColorSpace.YCBCR;
        }
        String ids = "";
        for (int i = 0; i < 3; i++) {
            ids += (char) Integer.parseInt(((Element) components.item(i)).getAttribute("componentId"));
        }
        return ids.equals("RGB") ? JpegColorSpace.RGB : JpegColorSpace.YCBCR;
    }

    private BufferedImage decodeJpeg() throws IOException {
        if (jpegColorSpace == null) {
            throw new IllegalStateException("readHeader first");
        }
        WritableRaster raw = (WritableRaster) reader.readRaster(0, null);
        return switch (jpegColorSpace) {
            case GRAY -> JpegSamples.grayToRgb(raw);
            case YCBCR -> JpegSamples.ycbcrToRgb(raw);
            case RGB -> JpegSamples.rgbToRgb(raw);
            case CMYK -> RgbConverter.jpegCmykToRgb(raw);
            case YCCK -> {
                JpegSamples.ycckToCmyk(raw);
                yield RgbConverter.jpegCmykToRgb(raw);
            }
        };
    }

    /**
     * Warnings that mean the data ran out or is damaged. libjpeg only warns on a truncated file ("Premature end of
     * JPEG file") and fills the rest with gray, which Pillow refuses ("image file is truncated"). Extraneous bytes
     * before a marker are common in camera files and harmless: Pillow accepts them, so does Kiln.
     */
    private static boolean meansCorrupt(String warning) {
        String w = warning.toLowerCase(Locale.ROOT);
        return w.contains("premature end") || w.contains("truncated") || w.contains("missing eoi")
                || (w.contains("corrupt") && !w.contains("extraneous bytes"));
    }

    private static Element first(Element root, String name) {
        NodeList nodes = root.getElementsByTagName(name);
        Node node = nodes.getLength() == 0 ? null : nodes.item(0);
        return (Element) node;
    }
}
