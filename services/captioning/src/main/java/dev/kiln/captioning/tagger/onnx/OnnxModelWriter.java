package dev.kiln.captioning.tagger.onnx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes small ONNX models (a {@code ModelProto} in protobuf wire format) without the {@code onnx} package:
 * enough of the schema for tagger-shaped test and benchmark models (nodes with int/ints/float attributes,
 * float initializers, float tensor inputs/outputs with fixed or named dimensions).
 * Field numbers follow {@code onnx/onnx.proto}.
 */
public final class OnnxModelWriter {

    private static final int IR_VERSION = 8;
    private static final int TENSOR_FLOAT = 1;
    private static final int ATTRIBUTE_FLOAT = 1;
    private static final int ATTRIBUTE_INT = 2;
    private static final int ATTRIBUTE_INTS = 7;

    private final String graphName;
    private final int opset;
    private final List<byte[]> nodes = new ArrayList<>();
    private final List<byte[]> initializers = new ArrayList<>();
    private final List<byte[]> inputs = new ArrayList<>();
    private final List<byte[]> outputs = new ArrayList<>();

    /** A model whose graph is called {@code graphName}, importing the default domain at {@code opset}. */
    public OnnxModelWriter(String graphName, int opset) {
        this.graphName = graphName;
        this.opset = opset;
    }

    /**
     * A float32 graph input; each dimension is a {@link Long} (fixed size) or a {@link String} (named,
     * dynamic, e.g. {@code "batch"}).
     */
    public OnnxModelWriter input(String name, Object... dims) {
        inputs.add(valueInfo(name, dims));
        return this;
    }

    /** A float32 graph output, dimensions as for {@link #input}. */
    public OnnxModelWriter output(String name, Object... dims) {
        outputs.add(valueInfo(name, dims));
        return this;
    }

    /** A float32 constant tensor (row-major {@code values} of the given shape). */
    public OnnxModelWriter initializer(String name, float[] values, long... dims) {
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        if (count != values.length) {
            throw new IllegalArgumentException("initializer " + name + ": " + values.length
                    + " values do not fill shape " + Arrays.toString(dims));
        }
        Message tensor = new Message();
        for (long d : dims) {
            tensor.varint(1, d);
        }
        tensor.varint(2, TENSOR_FLOAT);
        tensor.string(8, name);
        ByteBuffer raw = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(values);
        tensor.bytes(9, raw.array());
        initializers.add(tensor.toByteArray());
        return this;
    }

    /** Starts a node of {@code opType}; finish it with {@link Node#add()}. */
    public Node node(String opType, List<String> nodeInputs, List<String> nodeOutputs) {
        return new Node(opType, nodeInputs, nodeOutputs);
    }

    /** The serialized {@code ModelProto}. */
    public byte[] toByteArray() {
        Message graph = new Message();
        nodes.forEach(n -> graph.bytes(1, n));
        graph.string(2, graphName);
        initializers.forEach(t -> graph.bytes(5, t));
        inputs.forEach(i -> graph.bytes(11, i));
        outputs.forEach(o -> graph.bytes(12, o));

        Message opsetImport = new Message();
        opsetImport.string(1, "");
        opsetImport.varint(2, opset);

        Message model = new Message();
        model.varint(1, IR_VERSION);
        model.string(2, "kiln");
        model.bytes(7, graph.toByteArray());
        model.bytes(8, opsetImport.toByteArray());
        return model.toByteArray();
    }

    /** Writes the model to {@code file}. */
    public Path write(Path file) throws IOException {
        Files.write(file, toByteArray());
        return file;
    }

    private static byte[] valueInfo(String name, Object... dims) {
        Message shape = new Message();
        for (Object dim : dims) {
            Message dimension = new Message();
            if (dim instanceof Number n) {
                dimension.varint(1, n.longValue());
            } else if (dim instanceof String param) {
                dimension.string(2, param);
            } else {
                throw new IllegalArgumentException("dimension of " + name + " must be a number or a name: " + dim);
            }
            shape.bytes(1, dimension.toByteArray());
        }
        Message tensorType = new Message();
        tensorType.varint(1, TENSOR_FLOAT);
        tensorType.bytes(2, shape.toByteArray());
        Message type = new Message();
        type.bytes(1, tensorType.toByteArray());
        Message info = new Message();
        info.string(1, name);
        info.bytes(2, type.toByteArray());
        return info.toByteArray();
    }

    /** One graph node being built. */
    public final class Node {
        private final Message message = new Message();
        private final List<byte[]> attributes = new ArrayList<>();

        private Node(String opType, List<String> nodeInputs, List<String> nodeOutputs) {
            nodeInputs.forEach(i -> message.string(1, i));
            nodeOutputs.forEach(o -> message.string(2, o));
            message.string(3, opType + "_" + nodes.size());
            message.string(4, opType);
        }

        /** An INT attribute. */
        public Node attribute(String name, long value) {
            Message a = new Message();
            a.string(1, name);
            a.varint(3, value);
            a.varint(20, ATTRIBUTE_INT);
            attributes.add(a.toByteArray());
            return this;
        }

        /** A FLOAT attribute. */
        public Node attribute(String name, float value) {
            Message a = new Message();
            a.string(1, name);
            a.fixed32(2, Float.floatToIntBits(value));
            a.varint(20, ATTRIBUTE_FLOAT);
            attributes.add(a.toByteArray());
            return this;
        }

        /** An INTS attribute. */
        public Node attribute(String name, long... values) {
            Message a = new Message();
            a.string(1, name);
            for (long v : values) {
                a.varint(8, v);
            }
            a.varint(20, ATTRIBUTE_INTS);
            attributes.add(a.toByteArray());
            return this;
        }

        /** Adds the node to the graph. */
        public OnnxModelWriter add() {
            attributes.forEach(a -> message.bytes(5, a));
            nodes.add(message.toByteArray());
            return OnnxModelWriter.this;
        }
    }

    /** Protobuf wire-format encoding of one message: varint (type 0), 32-bit (type 5), length-delimited (type 2). */
    private static final class Message {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        void varint(int field, long value) {
            rawVarint(((long) field << 3));
            rawVarint(value);
        }

        void fixed32(int field, int bits) {
            rawVarint(((long) field << 3) | 5);
            for (int i = 0; i < 4; i++) {
                out.write((bits >>> (8 * i)) & 0xff);
            }
        }

        void string(int field, String value) {
            bytes(field, value.getBytes(StandardCharsets.UTF_8));
        }

        void bytes(int field, byte[] value) {
            rawVarint(((long) field << 3) | 2);
            rawVarint(value.length);
            out.writeBytes(value);
        }

        private void rawVarint(long value) {
            while ((value & ~0x7FL) != 0) {
                out.write((int) ((value & 0x7F) | 0x80));
                value >>>= 7;
            }
            out.write((int) value);
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }
}
