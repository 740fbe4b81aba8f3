package main

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudfront"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/wafv2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AWS-managed CloudFront policies (fixed, global ids).
const (
	cachePolicyOptimized       = "658327ea-f89d-4fab-a63d-7e88639e58f6" // Managed-CachingOptimized
	cachePolicyDisabled        = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" // Managed-CachingDisabled
	originRequestAllExceptHost = "b689b0a8-53d0-40ab-baf2-68738e2966ac" // Managed-AllViewerExceptHostHeader
)

// Certificates are the ACM certificates: CloudFront's must live in
// us-east-1, the ALB's in the stack's region.
type Certificates struct {
	USEast1 *aws.Provider
	Viewer  *acm.CertificateValidation // DomainName, for CloudFront
	Origin  *acm.CertificateValidation // APIDomain, for the ALB
}

func NewCertificates(ctx *pulumi.Context, cfg Config) (*Certificates, error) {
	c := &Certificates{}
	var err error
	c.USEast1, err = aws.NewProvider(ctx, "us-east-1", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
	if err != nil {
		return nil, err
	}
	issue := func(name, domain string, opts ...pulumi.ResourceOption) (*acm.CertificateValidation, error) {
		cert, err := acm.NewCertificate(ctx, name, &acm.CertificateArgs{
			DomainName: pulumi.String(domain), ValidationMethod: pulumi.String("DNS"), Tags: tags(cfg, name),
		}, opts...)
		if err != nil {
			return nil, err
		}
		opt := cert.DomainValidationOptions.ApplyT(first[acm.CertificateDomainValidationOption]).(acm.CertificateDomainValidationOptionOutput)
		rec, err := route53.NewRecord(ctx, name+"-validation", &route53.RecordArgs{
			ZoneId: pulumi.String(cfg.HostedZoneID), Name: opt.ResourceRecordName().Elem(), Type: opt.ResourceRecordType().Elem(),
			Records: pulumi.StringArray{opt.ResourceRecordValue().Elem()}, Ttl: pulumi.Int(300), AllowOverwrite: pulumi.Bool(true),
		})
		if err != nil {
			return nil, err
		}
		return acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
			CertificateArn: cert.Arn, ValidationRecordFqdns: pulumi.StringArray{rec.Fqdn},
		}, opts...)
	}
	if c.Viewer, err = issue("viewer-cert", cfg.DomainName, pulumi.Provider(c.USEast1)); err != nil {
		return nil, err
	}
	if c.Origin, err = issue("origin-cert", cfg.APIDomain); err != nil {
		return nil, err
	}
	return c, nil
}

// Edge is what the browser talks to: Route 53 → CloudFront (with WAF), which
// serves the SPA from a private S3 bucket through Origin Access Control and
// forwards /api/* to the ALB.
type Edge struct {
	Bucket       *s3.BucketV2
	Distribution *cloudfront.Distribution
	WebACL       *wafv2.WebAcl
	OAC          *cloudfront.OriginAccessControl
}

// wafRateLimited is the WAF's answer past its per-address rate: the api's
// problem shape (api/openapi.yaml, Problem).
const wafRateLimited = `{"type":"about:blank","title":"Too Many Requests","status":429,` +
	`"detail":"too many requests from your address; try again later","code":"rate_limited"}`

// spaRouting sends client-side routes (/admin, /requests/LD-…) to index.html
// without touching /api/* (a separate behaviour) or real files.
const spaRouting = `function handler(event) {
  var req = event.request;
  if (req.uri.indexOf('.') === -1) { req.uri = '/index.html'; }
  return req;
}`

func NewEdge(ctx *pulumi.Context, cfg Config, certs *Certificates, compute *Compute) (*Edge, error) {
	e := &Edge{}
	var err error
	e.Bucket, err = s3.NewBucketV2(ctx, "spa", &s3.BucketV2Args{BucketPrefix: pulumi.String(cfg.Name + "-spa-"), Tags: tags(cfg, "spa")})
	if err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketPublicAccessBlock(ctx, "spa", &s3.BucketPublicAccessBlockArgs{
		Bucket: e.Bucket.ID(), BlockPublicAcls: pulumi.Bool(true), BlockPublicPolicy: pulumi.Bool(true),
		IgnorePublicAcls: pulumi.Bool(true), RestrictPublicBuckets: pulumi.Bool(true),
	}); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, "spa", &s3.BucketOwnershipControlsArgs{
		Bucket: e.Bucket.ID(), Rule: &s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, "spa", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: e.Bucket.ID(), Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
			ApplyServerSideEncryptionByDefault: &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{SseAlgorithm: pulumi.String("AES256")},
		}},
	}); err != nil {
		return nil, err
	}
	if _, err := s3.NewBucketVersioningV2(ctx, "spa", &s3.BucketVersioningV2Args{
		Bucket: e.Bucket.ID(), VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}); err != nil {
		return nil, err
	}
	e.OAC, err = cloudfront.NewOriginAccessControl(ctx, "spa", &cloudfront.OriginAccessControlArgs{
		Name: pulumi.String(cfg.Name + "-spa"), OriginAccessControlOriginType: pulumi.String("s3"),
		SigningBehavior: pulumi.String("always"), SigningProtocol: pulumi.String("sigv4"),
	})
	if err != nil {
		return nil, err
	}
	fn, err := cloudfront.NewFunction(ctx, "spa-routing", &cloudfront.FunctionArgs{
		Name: pulumi.String(cfg.Name + "-spa-routing"), Runtime: pulumi.String("cloudfront-js-2.0"), Code: pulumi.String(spaRouting), Publish: pulumi.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	headers, err := cloudfront.NewResponseHeadersPolicy(ctx, "security-headers", &cloudfront.ResponseHeadersPolicyArgs{
		Name: pulumi.String(cfg.Name + "-security-headers"),
		SecurityHeadersConfig: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs{
			ContentSecurityPolicy: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs{Override: pulumi.Bool(true),
				ContentSecurityPolicy: pulumi.String("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")},
			ContentTypeOptions:      &cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs{Override: pulumi.Bool(true)},
			FrameOptions:            &cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs{FrameOption: pulumi.String("DENY"), Override: pulumi.Bool(true)},
			ReferrerPolicy:          &cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs{ReferrerPolicy: pulumi.String("no-referrer"), Override: pulumi.Bool(true)},
			StrictTransportSecurity: &cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs{AccessControlMaxAgeSec: pulumi.Int(63072000), IncludeSubdomains: pulumi.Bool(true), Preload: pulumi.Bool(true), Override: pulumi.Bool(true)},
		},
	})
	if err != nil {
		return nil, err
	}

	// WAF in front of everything: AWS managed rules and a per-IP rate limit.
	managed := func(priority int, name string) *wafv2.WebAclRuleArgs {
		return &wafv2.WebAclRuleArgs{
			Name: pulumi.String(name), Priority: pulumi.Int(priority),
			OverrideAction: &wafv2.WebAclRuleOverrideActionArgs{None: &wafv2.WebAclRuleOverrideActionNoneArgs{}},
			Statement: &wafv2.WebAclRuleStatementArgs{ManagedRuleGroupStatement: &wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs{
				VendorName: pulumi.String("AWS"), Name: pulumi.String(name),
			}},
			VisibilityConfig: &wafv2.WebAclRuleVisibilityConfigArgs{CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(name), SampledRequestsEnabled: pulumi.Bool(true)},
		}
	}
	e.WebACL, err = wafv2.NewWebAcl(ctx, "edge", &wafv2.WebAclArgs{
		Name: pulumi.String(cfg.Name), Scope: pulumi.String("CLOUDFRONT"),
		DefaultAction: &wafv2.WebAclDefaultActionArgs{Allow: &wafv2.WebAclDefaultActionAllowArgs{}},
		Rules: wafv2.WebAclRuleArray{
			managed(1, "AWSManagedRulesAmazonIpReputationList"),
			managed(2, "AWSManagedRulesCommonRuleSet"),
			managed(3, "AWSManagedRulesKnownBadInputsRuleSet"),
			&wafv2.WebAclRuleArgs{
				Name: pulumi.String("rate-limit-per-ip"), Priority: pulumi.Int(10),
				// Answered as the api answers a limit: 429, a problem body and
				// Retry-After (WAF lets us choose all but the Content-Type,
				// which is application/json).
				Action: &wafv2.WebAclRuleActionArgs{Block: &wafv2.WebAclRuleActionBlockArgs{
					CustomResponse: &wafv2.WebAclRuleActionBlockCustomResponseArgs{
						ResponseCode: pulumi.Int(429), CustomResponseBodyKey: pulumi.String("rate-limited"),
						ResponseHeaders: wafv2.WebAclRuleActionBlockCustomResponseResponseHeaderArray{
							&wafv2.WebAclRuleActionBlockCustomResponseResponseHeaderArgs{Name: pulumi.String("Retry-After"), Value: pulumi.String("300")},
						},
					},
				}},
				Statement:        &wafv2.WebAclRuleStatementArgs{RateBasedStatement: &wafv2.WebAclRuleStatementRateBasedStatementArgs{Limit: pulumi.Int(2000), AggregateKeyType: pulumi.String("IP")}},
				VisibilityConfig: &wafv2.WebAclRuleVisibilityConfigArgs{CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String("rate-limit"), SampledRequestsEnabled: pulumi.Bool(true)},
			},
		},
		CustomResponseBodies: wafv2.WebAclCustomResponseBodyArray{&wafv2.WebAclCustomResponseBodyArgs{
			Key: pulumi.String("rate-limited"), ContentType: pulumi.String("APPLICATION_JSON"), Content: pulumi.String(wafRateLimited),
		}},
		VisibilityConfig: &wafv2.WebAclVisibilityConfigArgs{CloudwatchMetricsEnabled: pulumi.Bool(true), MetricName: pulumi.String(cfg.Name), SampledRequestsEnabled: pulumi.Bool(true)},
		Tags:             tags(cfg, "waf"),
	}, pulumi.Provider(certs.USEast1))
	if err != nil {
		return nil, err
	}

	// The ALB is reached by its own name, which its certificate covers.
	if _, err := route53.NewRecord(ctx, "origin", &route53.RecordArgs{
		ZoneId: pulumi.String(cfg.HostedZoneID), Name: pulumi.String(cfg.APIDomain), Type: pulumi.String("A"),
		Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{Name: compute.ALB.DnsName, ZoneId: compute.ALB.ZoneId, EvaluateTargetHealth: pulumi.Bool(true)}},
	}); err != nil {
		return nil, err
	}
	e.Distribution, err = cloudfront.NewDistribution(ctx, "edge", &cloudfront.DistributionArgs{
		Enabled: pulumi.Bool(true), IsIpv6Enabled: pulumi.Bool(true), HttpVersion: pulumi.String("http2and3"),
		Comment: pulumi.String("LoanDesk SPA and API"), DefaultRootObject: pulumi.String("index.html"),
		Aliases: pulumi.StringArray{pulumi.String(cfg.DomainName)}, PriceClass: pulumi.String("PriceClass_All"),
		WebAclId: e.WebACL.Arn,
		Origins: cloudfront.DistributionOriginArray{
			&cloudfront.DistributionOriginArgs{
				OriginId: pulumi.String("spa"), DomainName: e.Bucket.BucketRegionalDomainName, OriginAccessControlId: e.OAC.ID(),
			},
			&cloudfront.DistributionOriginArgs{
				OriginId: pulumi.String("api"), DomainName: pulumi.String(cfg.APIDomain),
				CustomOriginConfig: &cloudfront.DistributionOriginCustomOriginConfigArgs{
					HttpPort: pulumi.Int(80), HttpsPort: pulumi.Int(443), OriginProtocolPolicy: pulumi.String("https-only"),
					OriginSslProtocols: pulumi.StringArray{pulumi.String("TLSv1.2")}, OriginReadTimeout: pulumi.Int(30),
				},
				CustomHeaders: cloudfront.DistributionOriginCustomHeaderArray{&cloudfront.DistributionOriginCustomHeaderArgs{
					Name: pulumi.String("X-Origin-Verify"), Value: cfg.OriginVerifySecret,
				}},
			},
		},
		DefaultCacheBehavior: &cloudfront.DistributionDefaultCacheBehaviorArgs{
			TargetOriginId: pulumi.String("spa"), ViewerProtocolPolicy: pulumi.String("redirect-to-https"), Compress: pulumi.Bool(true),
			AllowedMethods: pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS"}), CachedMethods: pulumi.ToStringArray([]string{"GET", "HEAD"}),
			CachePolicyId: pulumi.String(cachePolicyOptimized), ResponseHeadersPolicyId: headers.ID(),
			FunctionAssociations: cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArray{&cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs{
				EventType: pulumi.String("viewer-request"), FunctionArn: fn.Arn,
			}},
		},
		OrderedCacheBehaviors: cloudfront.DistributionOrderedCacheBehaviorArray{&cloudfront.DistributionOrderedCacheBehaviorArgs{
			PathPattern: pulumi.String("/api/*"), TargetOriginId: pulumi.String("api"), ViewerProtocolPolicy: pulumi.String("https-only"),
			AllowedMethods: pulumi.ToStringArray([]string{"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}),
			CachedMethods:  pulumi.ToStringArray([]string{"GET", "HEAD"}), Compress: pulumi.Bool(true),
			CachePolicyId: pulumi.String(cachePolicyDisabled), OriginRequestPolicyId: pulumi.String(originRequestAllExceptHost),
			ResponseHeadersPolicyId: headers.ID(),
		}},
		Restrictions: &cloudfront.DistributionRestrictionsArgs{GeoRestriction: &cloudfront.DistributionRestrictionsGeoRestrictionArgs{RestrictionType: pulumi.String("none")}},
		ViewerCertificate: &cloudfront.DistributionViewerCertificateArgs{
			AcmCertificateArn: certs.Viewer.CertificateArn, SslSupportMethod: pulumi.String("sni-only"), MinimumProtocolVersion: pulumi.String("TLSv1.2_2021"),
		},
		Tags: tags(cfg, "cdn"),
	})
	if err != nil {
		return nil, err
	}
	// Only this distribution, through OAC, may read the bucket.
	policy := pulumi.All(e.Bucket.Arn, e.Distribution.Arn).ApplyT(func(a []any) (string, error) {
		b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
			"Sid": "CloudFrontOACRead", "Effect": "Allow", "Principal": map[string]string{"Service": "cloudfront.amazonaws.com"},
			"Action": "s3:GetObject", "Resource": a[0].(string) + "/*",
			"Condition": map[string]any{"StringEquals": map[string]string{"AWS:SourceArn": a[1].(string)}},
		}}})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := s3.NewBucketPolicy(ctx, "spa", &s3.BucketPolicyArgs{Bucket: e.Bucket.ID(), Policy: policy}); err != nil {
		return nil, err
	}
	for _, typ := range []string{"A", "AAAA"} {
		if _, err := route53.NewRecord(ctx, "site-"+typ, &route53.RecordArgs{
			ZoneId: pulumi.String(cfg.HostedZoneID), Name: pulumi.String(cfg.DomainName), Type: pulumi.String(typ),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{Name: e.Distribution.DomainName, ZoneId: e.Distribution.HostedZoneId, EvaluateTargetHealth: pulumi.Bool(false)}},
		}); err != nil {
			return nil, err
		}
	}
	return e, nil
}
