package dev.kiln.diffusion.train.save;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Python's str/repr/json.dumps forms; every expected string was printed by CPython 3 for the same double. */
class PyStrTest {

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
        "0x1.a36e2eb1c432dp-14 | 0.0001",
        "0x1.4f8b588e368f1p-17 | 1e-05",
        "0x1.0c6f7a0b5ed8dp-19 | 2e-06",
        "0x1.0000000000000p+0 | 1.0",
        "0x1.3333333333333p-2 | 0.3",
        "0x1.9000000000000p+6 | 100.0",
        "0x1.1c37937e08000p+53 | 1e+16",
        "0x1.c6bf526340000p+49 | 1000000000000000.0",
        "0x1.3333333333334p-2 | 0.30000000000000004",
        "0x1.5555555555555p-2 | 0.3333333333333333",
        "0x0.0000000000001p-1022 | 5e-324",
        "0x1.fffffffffffffp+1023 | 1.7976931348623157e+308",
        "-0x0.0p+0 | -0.0",
        "0x1.9ec6dc807e6b4p+30 | 1739700000.123456",
        "0x1.b69b4ba630f35p+56 | 1.2345678901234568e+17",
        "0x1.421f5f40d8376p-23 | 1.5e-07",
        "0x1.3a92a30553261p-13 | 0.00015",
        "0x0.0000000000003p-1022 | 1.5e-323",
        "0x1.0000000000000p+53 | 9007199254740992.0",
        "0x1.1666666666666p+2 | 4.35",
        "0x1.a36e2eb1c432dp-16 | 2.5e-05",
        "0x1.0f0cf064dd592p+73 | 1e+22",
        "0x1.52d02c7e14af6p+76 | 1e+23",
        "0x1.999999999999ap-4 | 0.1",
        "0x1.34a0000000000p+10 | 1234.5",
        "0x1.c7e83209e90b2p+72 | 8.41e+21",
        "0x1.179ec9cbd821ep-15 | 3.3333333333333335e-05",
        "-0x1.a36e2eb1c432dp-15 | -5e-05",
    })
    void floatReprMatchesPython(String hex, String python) {
        assertEquals(python, PyStr.floatRepr(Double.parseDouble(hex)));
        assertEquals(python, PyStr.str(Double.parseDouble(hex)));
    }

    @Test
    void specialFloats() {
        assertEquals("nan", PyStr.floatRepr(Double.NaN));
        assertEquals("inf", PyStr.floatRepr(Double.POSITIVE_INFINITY));
        assertEquals("-inf", PyStr.floatRepr(Double.NEGATIVE_INFINITY));
        assertEquals("0.0", PyStr.floatRepr(0.0));
    }

    @Test
    void scalarsAsStr() {
        assertEquals("None", PyStr.str(null));
        assertEquals("True", PyStr.str(true));
        assertEquals("False", PyStr.str(false));
        assertEquals("1", PyStr.str(1L));
        assertEquals("-3", PyStr.str(-3));
        assertEquals("networks.lora", PyStr.str("networks.lora"));
        // a Java float stands for the decimal it prints as
        assertEquals("0.1", PyStr.str(0.1f));
    }

    @Test
    void containersAsStr() {
        assertEquals("(512, 768)", PyStr.str(new int[] {512, 768}));
        assertEquals("(2.0, 4.0)", PyStr.str(new double[] {2.0, 4.0}));
        assertEquals("[0.0001, 'x', None]", PyStr.str(Arrays.asList(0.0001, "x", null)));
        assertEquals("\"it's\"", PyStr.repr("it's"));
        assertEquals("'say \"hi\"'", PyStr.repr("say \"hi\""));
        assertEquals("'both \\' and \"'", PyStr.repr("both ' and \""));
    }

    @Test
    void jsonDumpsWithPythonDefaults() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("n", 1e-05);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", Arrays.asList(1L, 2.5, null, true));
        m.put("\u00e9", "\u00fc\n\"\\\u007f\u0001");
        m.put("k", inner);
        m.put("s", "\ud83d\ude00");
        assertEquals("{\"a\": [1, 2.5, null, true], \"\\u00e9\": \"\\u00fc\\n\\\"\\\\\\u007f\\u0001\", "
                + "\"k\": {\"n\": 1e-05}, \"s\": \"\\ud83d\\ude00\"}", PyStr.json(m));
        assertEquals("[512, 768]", PyStr.json(new int[] {512, 768}));
        assertEquals("{}", PyStr.json(Map.of()));
        assertEquals("[NaN, Infinity]", PyStr.json(List.of(Double.NaN, Double.POSITIVE_INFINITY)));
    }

    @Test
    void numpyPairwiseSumAndMean() {
        // sums printed by numpy 2 for a[i] = ((i*7919) % 1000) / 997 + 0.001 i; 13 and 100 elements differ from a
        // left-to-right sum in the last bit
        assertEquals(Double.parseDouble("0x1.9ad42223e2df4p+1"), NumpySum.pairwise(values(5)));
        assertEquals(Double.parseDouble("0x1.71bbf6479a9f8p+2"), NumpySum.pairwise(values(13)));
        assertEquals(Double.parseDouble("0x1.b12e451f6098dp+5"), NumpySum.pairwise(values(100)));
        assertEquals(Double.parseDouble("0x1.86e7530a1de36p+7"), NumpySum.pairwise(values(300)));
        assertEquals(Double.parseDouble("0x1.f44062998c741p+9"), NumpySum.pairwise(values(1000)));
        assertEquals("0.44439209937504826", PyStr.floatRepr(NumpySum.pairwise(values(13)) / 13));
        assertEquals("0.5414759277833501", PyStr.floatRepr(NumpySum.pairwise(values(100)) / 100));
    }

    private static double[] values(int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = ((i * 7919) % 1000) / 997.0 + 1e-3 * i;
        }
        return a;
    }
}
