package dev.kiln.captioning.tagger;

import ai.djl.engine.Engine;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * What a tagger model declares about its input and output, read from the ONNX graph through ONNX Runtime:
 * input name, square image size, channel layout, fixed batch size (0 when dynamic) and scores per image
 * (0 when dynamic).
 */
record ModelSignature(String inputName, int imageSize, boolean channelsLast, int fixedBatch, int outputWidth) {

    /** sd-scripts' {@code IMAGE_SIZE}, used when the model leaves height and width dynamic. */
    static final int DEFAULT_IMAGE_SIZE = 448;

    static ModelSignature read(Path modelFile) {
        // DJL's engine creates the process-wide OrtEnvironment with its thread options; it must come first
        Engine.getEngine("OnnxRuntime");
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = OrtEnvironment.getEnvironment().createSession(modelFile.toString(), options)) {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            if (inputs.size() != 1) {
                throw new TaggerException("tagger model " + modelFile + " has " + inputs.size()
                        + " inputs " + inputs.keySet() + "; a tagger takes one image batch");
            }
            NodeInfo input = inputs.values().iterator().next();
            long[] in = floatTensorShape(modelFile, "input", input);
            if (in.length != 4 || (in[3] != 3 && in[1] != 3)) {
                throw new TaggerException("tagger model " + modelFile + " input '" + input.getName() + "' has shape "
                        + Arrays.toString(in) + "; expected [batch, height, width, 3] or [batch, 3, height, width]");
            }
            boolean channelsLast = in[3] == 3;
            long height = channelsLast ? in[1] : in[2];
            long width = channelsLast ? in[2] : in[3];
            if (height > 0 && width > 0 && height != width) {
                throw new TaggerException("tagger model " + modelFile + " input '" + input.getName()
                        + "' is not square: " + Arrays.toString(in));
            }
            long size = height > 0 ? height : width > 0 ? width : DEFAULT_IMAGE_SIZE;

            if (session.getOutputInfo().isEmpty()) {
                throw new TaggerException("tagger model " + modelFile + " has no outputs");
            }
            NodeInfo output = session.getOutputInfo().values().iterator().next();
            long[] out = floatTensorShape(modelFile, "output", output);
            if (out.length != 2) {
                throw new TaggerException("tagger model " + modelFile + " output '" + output.getName() + "' has shape "
                        + Arrays.toString(out) + "; expected [batch, tags]");
            }
            return new ModelSignature(input.getName(), Math.toIntExact(size), channelsLast,
                    (int) Math.max(0, in[0]), (int) Math.max(0, out[1]));
        } catch (OrtException e) {
            throw new TaggerException("tagger model " + modelFile + " is not a valid ONNX model: " + e.getMessage(), e);
        }
    }

    private static long[] floatTensorShape(Path modelFile, String role, NodeInfo node) {
        if (!(node.getInfo() instanceof TensorInfo tensor) || tensor.type != OnnxJavaType.FLOAT) {
            throw new TaggerException("tagger model " + modelFile + " " + role + " '" + node.getName()
                    + "' is not a float32 tensor: " + node.getInfo());
        }
        return tensor.getShape();
    }
}
