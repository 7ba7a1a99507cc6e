// SPDX-License-Identifier: MIT
// A real JVM heap: objects with fields, strings, HashMaps, int and double arrays,
// StringBuilders' text. Prints 'ready' and sleeps, so that its anonymous memory can
// be dumped as a corpus (scripts/make-runtime-corpus.sh).
import java.util.*;

public class Workload {
	record Person(int id, String name, double score, List<String> tags, boolean active) {}

	public static void main(String[] args) throws Exception {
		Random r = new Random(7);
		String[] words = { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta" };
		List<Person> people = new ArrayList<>();
		for (int i = 0; i < 700000; i++)
			people.add(new Person(i, words[i % 8] + "-" + i, r.nextDouble() * 100,
					      List.of(words[(i * 3) % 8], words[(i * 5) % 8]), (i & 1) == 0));
		List<double[]> floats = new ArrayList<>();
		for (int i = 0; i < 40; i++) {
			double[] a = new double[100000];
			for (int j = 0; j < a.length; j++)
				a[j] = r.nextDouble() * j;
			floats.add(a);
		}
		Map<String, int[]> map = new HashMap<>();
		for (int i = 0; i < 500000; i++)
			map.put("key" + i, new int[] { i, i * 2, i % 7 });
		List<String> docs = new ArrayList<>();
		for (int i = 0; i < 200000; i++)
			docs.add("{\"a\":" + i + ",\"b\":[1,2,3],\"c\":\"" + "x".repeat(i % 50) + "\"}");
		System.out.println("ready " + people.size() + " " + floats.size() + " " + map.size() + " " + docs.size());
		Thread.sleep(Long.MAX_VALUE);
	}
}
